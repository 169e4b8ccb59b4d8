"""`critbench report DIR --baseline BASE`: the HTML page shows the tests used and the runs that changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main as cli_main
from harness.gate.compare import write_baseline
from harness.report import ReportError, render_report
from tests.report._synthetic import make_results


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_results(tmp_path_factory.mktemp("results"))


def baseline_with(results: Path, tmp: Path, run: int, **fields: object) -> Path:
    """The same records except ``solver-a`` run ``run`` with ``fields`` changed (the 'before' state)."""
    recs = [json.loads(line) for line in (results / "runs.jsonl").read_text().splitlines() if line.strip()]
    for r in recs:
        if r["solver"] == "solver-a" and r["run_index"] == run:
            r.update(fields)
    return write_baseline(recs, tmp / "base.json")


def test_report_lists_changed_run_against_baseline(results: Path, tmp_path: Path) -> None:
    base = baseline_with(results, tmp_path, 4, outcome="critical", matched_class="S={0}", hvps=7)
    page = render_report(results, tmp_path / "r.html", baseline=base).read_text(encoding="utf-8")
    assert "Changes against the baseline" in page
    assert page.count('class="changed-run"') == 1
    assert "quartic x solver-a run 4 (seed 0): critical S={0}" in page and "-&gt; gradient-flat" in page
    assert "McNemar (n=6)" in page and "Fisher" not in page
    assert "Changes against the baseline" not in render_report(results, tmp_path / "plain.html").read_text()


def test_report_baseline_errors_are_one_line(results: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(ReportError, match="baseline"):
        render_report(results, tmp_path / "r.html", baseline=tmp_path / "missing.json")
    assert cli_main(["report", str(results), "--out", str(tmp_path / "c.html"),
                     "--baseline", str(tmp_path / "missing.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("critbench: error:") and "\n" not in err
