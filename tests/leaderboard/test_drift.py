"""Drift made visible (issue 30): the archive records its platform; --check-references compares a local rerun."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main
from harness.leaderboard import archive as arc
from harness.leaderboard import rank as lbr
from tests.leaderboard._synth import TOY, pattern, records, write_toy_archive


def test_platform_stamp_names_cpu_flags_jaxlib_and_xla_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_enable_fast_math=false")
    p = arc.platform_stamp()
    assert p["cpu_model"] and p["machine"] and p["jaxlib"] and p["xla_flags"] == "--xla_cpu_enable_fast_math=false"
    assert set(p["cpu_flags"]) <= set(arc.SIMD_FLAGS)
    assert arc.platform_differences(p, dict(p)) == []
    assert arc.platform_differences(p, dict(p, jaxlib="0.0.1")) == [f"jaxlib: {p['jaxlib']!r} vs '0.0.1'"]
    assert "records no platform" in arc.platform_differences(None, p)[0]
    assert "not recorded" == lbr.platform_text(None) and p["cpu_model"] in lbr.platform_text(p)


def test_regenerate_stamps_the_platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import harness.run.runner as runner

    monkeypatch.setattr(runner, "run_suite", lambda specs, res, **k: records("ref-a", "quartic", pattern(18)))
    monkeypatch.setattr(type(TOY), "reference_specs", lambda self: [])
    monkeypatch.setattr(arc, "get_suite", lambda name: TOY)
    path = arc.regenerate("toy-v1", results=tmp_path / "res", out=tmp_path / "a.parquet", log=lambda *a: None)
    stamp = arc.read_archive(path)[1]
    assert stamp["platform"] == arc.platform_stamp()


def _local_rerun(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An archive of ref-a / ref-b and a 'local rerun' of ref-a where runs 3 and 4 drift."""
    ref = records("ref-a", "quartic", pattern(18)) + records("ref-b", "quartic", pattern(5))
    archive = write_toy_archive(tmp_path / "toy.parquet", ref)
    local = [dict(r) for r in records("ref-a", "quartic", pattern(18))]
    local[3] = dict(local[3], outcome="other", correct=False)
    local[4] = dict(local[4], hvps=local[4]["hvps"] + 1, correct=None)
    local[5] = dict(local[5], hvps=local[5]["hvps"] + 2)
    import harness.run.runner as runner

    monkeypatch.setattr(runner, "run_suite", lambda specs, res, **k: local)
    monkeypatch.setattr(arc, "get_suite", lambda name: TOY)
    monkeypatch.setattr(type(TOY), "reference_specs", lambda self: [])
    return archive


def test_reference_drift_per_cell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = _local_rerun(tmp_path, monkeypatch)
    out = arc.check_references(["ref-a"], suite_name="toy-v1", archive=archive, results=tmp_path / "check")
    (row,) = out["rows"]
    assert (row["solver"], row["case"], row["pairs"]) == ("ref-a", "quartic", 20)
    assert (row["outcome_differs"], row["correct_differs"], row["hvps_differ"]) == (1, 2, 2)
    assert (row["success_archive"], row["success_local"], row["drifted"]) == (18, 17, [3, 4])
    assert "records no platform" in out["platform"][0]  # the toy archive has none
    with pytest.raises(arc.ArchiveError, match="not a reference solver"):
        arc.check_references(["nope"], suite_name="toy-v1", archive=archive, results=tmp_path / "check")


def test_check_references_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    archive = _local_rerun(tmp_path, monkeypatch)
    monkeypatch.setenv("COLUMNS", "100")
    assert main(["leaderboard", "--check-references", "ref-a", "--archive", str(archive), "--suite", "toy-v1",
                 "--results", str(tmp_path / "check")]) == 0
    out = capsys.readouterr().out
    assert "reference drift" in out and "18 -> 17" in out and "3, 4" in out
    assert "20 runs compared, 2 drifted in outcome or correctness, 2 in HVPs" in out.replace("\n  ", " ")
    assert max(len(line) for line in out.splitlines() if str(tmp_path) not in line) <= 100
    assert main(["leaderboard", "--check-references", "ref-a", "--archive", str(archive), "--suite", "toy-v1",
                 "--results", str(tmp_path / "check"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rows"][0]["drifted"] == [3, 4]
