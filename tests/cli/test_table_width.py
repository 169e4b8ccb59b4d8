"""Terminal tables fit their width (issue 30): ``critbench score`` and ``critbench leaderboard``, piped."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness._terminal import format_table, terminal_width

ROOT = Path(__file__).resolve().parents[2]
#: A plug-in's long name, as `critbench suite run --solver module:attr` labels it.
LONG = "examples.jax_solver:NewtonCG"


@pytest.fixture(scope="module")
def new_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A standard-v1 result set: the archive's newton-mr runs under a plug-in's long name."""
    from harness.leaderboard.archive import read_archive
    from harness.leaderboard.suite import get_suite
    from tests.leaderboard._synth import records, write_set

    recs, _ = read_archive(None, suite="standard-v1")
    out = []
    for i, r in enumerate(x for x in recs if x["solver"] == "newton-mr"):
        base = records(LONG, str(r["case"]), [("critical", True, 3)])[0]
        row = {**base, **{k: v for k, v in r.items() if v is not None and k in base}}
        key = f"cg-{r['case_key']}"[:40]
        out.append(dict(row, solver=LONG, solver_key=key, batch_row=int(r["run_index"]),
                        run_id=f"{r['case_key']}/{key}/{r['seed']}/{r['run_index']}"))
    return write_set(tmp_path_factory.mktemp("lb") / "new", out, suite=get_suite("standard-v1"))


def _cli(*args: str, columns: str | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    if columns is not None:
        env["COLUMNS"] = columns
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=300)


def _widest(text: str) -> int:
    return max(len(line) for line in text.splitlines())


@pytest.mark.parametrize("columns,limit", [("120", 120), (None, 100)])
def test_score_and_leaderboard_fit_the_width(new_set: Path, tmp_path: Path, columns: str | None, limit: int) -> None:
    score = _cli("score", str(new_set), columns=columns)
    assert score.returncode == 0, score.stderr
    assert "quartic" in score.stdout and "100% [84, 100]" in score.stdout
    assert _widest(score.stdout) <= limit, score.stdout
    lb = _cli("leaderboard", str(new_set), columns=columns, cwd=tmp_path)  # writes results/leaderboard there
    assert lb.returncode == 0, lb.stderr
    assert _widest(lb.stdout) <= limit, lb.stdout
    for header in ("success (95% CI)", "vs references", "verdict"):
        assert header in lb.stdout


def test_wide_shows_every_column_and_numbers_are_whole(new_set: Path) -> None:
    wide = _cli("score", str(new_set), "--wide", columns="100")
    assert wide.returncode == 0 and "s/success" in wide.stdout and "compile" in wide.stdout
    assert "compile" not in _cli("score", str(new_set), columns="100").stdout
    assert "…" not in wide.stdout


def test_numbers_are_never_cut() -> None:
    head = ["solver", "success (95% CI)", "HVPs/success"]
    body = [["a-very-long-solver-name-indeed", "100% [84, 100]", "12345.67"]]
    text = format_table(head, body, width=30, atomic=[1, 2])
    assert "100% [84, 100]" in text and "12345.67" in text
    assert format_table(head, body, width=200, atomic=[1, 2]).splitlines()[2].startswith("a-very-long-solver-name-indeed")


def test_width_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    class Pipe:
        def isatty(self) -> bool:
            return False

    monkeypatch.delenv("COLUMNS", raising=False)
    assert terminal_width(Pipe()) == 100
    monkeypatch.setenv("COLUMNS", "120")
    assert terminal_width(Pipe()) == 120
