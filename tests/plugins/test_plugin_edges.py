"""The pytest plugin's edges (issue 30): one-line usage errors, no import of critbench's ``cases``
until it is used, and case parameters through ``critbench_check``."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.plugins.test_good_citizen import _env

pytest_plugins = ["pytester"]


def _pytest(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], cwd=cwd,
                          env=_env(), capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("option,message", [
    (["--critbench-cases", "quartc"], "--critbench-cases: unknown case(s) quartc; valid: "),
    (["--critbench-runs", "0"], "--critbench-runs must be >= 1, got 0"),
    (["--critbench-seed", "-1"], "--critbench-seed must be >= 0, got -1"),
])
def test_usage_errors_are_one_line(tmp_path: Path, option: list[str], message: str) -> None:
    (tmp_path / "test_x.py").write_text("def test_x():\n    pass\n")
    out = _pytest([*option, "test_x.py"], tmp_path)
    assert out.returncode == 4, out.stdout[-2000:] + out.stderr[-2000:]  # pytest's usage-error status
    text = (out.stdout + out.stderr).strip()
    assert text.count("\n") == 0 and message in text and "def " not in text, text


def test_a_projects_own_cases_package_is_its_own(tmp_path: Path) -> None:
    """The plugin (loaded in every session) imports nothing of critbench's ``cases``: ``import cases`` in a
    project's tests finds the project's package, also when pytest puts the project on ``sys.path`` late."""
    project = tmp_path / "project"
    (project / "cases").mkdir(parents=True)
    (project / "cases" / "__init__.py").write_text("MINE = True\n")
    (project / "test_theirs.py").write_text(textwrap.dedent("""
        import sys

        def test_cases_is_mine():
            import harness.pytest_plugin  # loaded
            import cases
            assert getattr(cases, "MINE", False), cases.__file__
        """))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = _pytest([str(project / "test_theirs.py")], elsewhere)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    code = "import sys, harness.pytest_plugin, harness\nassert 'cases' not in sys.modules, sorted(sys.modules)\n"
    assert subprocess.run([sys.executable, "-c", code], env=_env(), cwd=elsewhere, capture_output=True,
                          text=True, timeout=120).returncode == 0


_USER = '''
import numpy as np
import pytest
from harness.solvers import SolveResult


class Oracle:
    name = "oracle"

    def solve(self, problem, theta0, *, max_iter, tol):
        b = theta0.shape[0]
        z = np.zeros(b, dtype=np.int64)
        return SolveResult(theta=np.ones((b, 2)), status=z, n_iter=z, hvps=z, grads=z, trace={})


def test_case_parameters(critbench_check):
    recs = critbench_check(Oracle(), "example-1.1", init_scale=0.5, runs=2)
    assert {r["case_params"]["init_scale"] for r in recs} == {0.5} and len(recs) == 2


def test_unknown_case_parameter(critbench_check):
    with pytest.raises(Exception, match="bogus"):
        critbench_check(Oracle(), "example-1.1", bogus=1)
'''


def test_critbench_check_takes_case_parameters(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=_USER)
    res = pytester.runpytest("-p", "critbench", "-p", "no:cacheprovider")
    res.assert_outcomes(passed=2)
