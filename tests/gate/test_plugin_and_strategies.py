"""The pytest plugin (via ``pytester``) and the Hypothesis strategies."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness import strategies as cs

pytest_plugins = ["pytester"]

_USER_TESTS = '''
import numpy as np
import pytest
from harness.solvers import SolveResult


class Oracle:
    """Jumps straight to (1, 1) on the hyperbola of Example 1.1 (no JAX solve)."""
    name = "oracle"

    def __init__(self, point):
        self.point = np.asarray(point, dtype=float)

    def solve(self, problem, theta0, *, max_iter, tol):
        b = theta0.shape[0]
        z = np.zeros(b, dtype=np.int64)
        return SolveResult(theta=np.tile(self.point, (b, 1)), status=z, n_iter=z, hvps=z, grads=z, trace={})


def test_options(critbench_runs, critbench_seed, critbench_cases):
    assert (critbench_runs, critbench_seed, critbench_cases) == (3, 7, ["example-1.1"])


def test_check_passes(critbench_check, critbench_cases):
    recs = critbench_check(Oracle([1.0, 1.0]), critbench_cases[0])
    assert len(recs) == 3 and {r["seed"] for r in recs} == {7}


def test_check_fails(critbench_check):
    critbench_check(Oracle([0.5, 0.5]), "example-1.1")
'''


def test_plugin_options_and_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=_USER_TESTS)
    res = pytester.runpytest("-p", "critbench", "--critbench-runs", "3", "--critbench-seed", "7",
                             "--critbench-cases", "example-1.1", "-p", "no:cacheprovider")
    res.assert_outcomes(passed=2, failed=1)
    res.stdout.fnmatch_lines(["*oracle (Oracle) reached certified ground truth of case 'example-1.1'*0/3 runs*"])


def test_plugin_rejects_unknown_case(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(critbench_cases):\n    pass\n")
    res = pytester.runpytest("--critbench-cases", "nope", "-p", "no:cacheprovider")
    assert res.ret != 0
    res.stderr.fnmatch_lines(["ERROR: --critbench-cases: unknown case(s) nope*"])  # one line, at start-up


@settings(max_examples=8, deadline=None)
@given(st.data())
def test_dlae_instances_certified_points_are_critical(data: st.DataObject) -> None:
    """Every drawn class point (moved along its gauge orbit) has the class loss and zero gradient."""
    from cases import _numeric

    case = data.draw(cs.dlae_instances(max_k=4, max_p=2))
    klass = data.draw(cs.critical_classes(case))
    theta = data.draw(cs.initial_points(case, klass, scale=0.0))
    assert float(case.loss(theta)) == pytest.approx(klass.loss, rel=1e-9, abs=1e-12)
    g = _numeric.dense_gradient(case.loss_fn, theta, case.data)
    assert float(g @ g) < 1e-20
    assert case.ground_truth.match(theta).label == klass.label


@settings(max_examples=5, deadline=None)
@given(st.data())
def test_newton_mr_reaches_quartic_minimum_from_basin_starts(data: st.DataObject) -> None:
    """From any drawn start in the certified basin, Newton-MR reaches the certified minimum."""
    from harness.testing import assert_finds_ground_truth

    case = data.draw(cs.quartic_instances(dim=2))
    label = cs.minimum_label(case)
    theta0 = data.draw(cs.basin_starts(case, label))
    assert_finds_ground_truth("newton-mr", case, theta0=np.asarray(theta0)[None], min_success=1.0,
                              expect_class=label, max_iter=200)
