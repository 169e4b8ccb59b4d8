"""Suites are one registry entry kind (issue 31): the scorecard, the leaderboard's suites and the CI gate's
quick suite are :class:`harness.run.suite.Suite` entries of one registry, and each user looks its suite up
by name (a patched registry entry changes what the CI gate runs and what the leaderboard ranks on)."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import pytest

import harness.run.suite as reg
from harness.leaderboard import suite as lb_suite
from harness.run.spec import RunSpec
from harness.run.suite import CI_GATE, STANDARD_V1, STANDARD_V2, Suite, SuiteCell, SuiteError, get_suite

ROOT = Path(__file__).resolve().parents[2]


def _gate():  # noqa: ANN202
    spec = importlib.util.spec_from_file_location("ci_gate_suites", ROOT / "ci" / "gate.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> reg.Registry:
    """The suite registry with this test's registrations and cache forgotten afterwards."""
    monkeypatch.setattr(reg.SUITES, "_registered", {})
    monkeypatch.setattr(reg.SUITES, "_loaded", {})
    return reg.SUITES


def test_the_three_suites_are_entries_of_one_kind() -> None:
    assert {"scorecard", "standard-v1", "standard-v2", "ci-gate"} <= set(reg.suite_names())
    for name in ("scorecard", "standard-v1", "standard-v2", "ci-gate"):
        assert isinstance(get_suite(name), Suite)
    assert get_suite("standard-v1") is STANDARD_V1 and get_suite("ci-gate") is CI_GATE
    with pytest.raises(SuiteError, match="unknown suite"):
        get_suite("no-such-suite")
    with pytest.raises(SuiteError, match="fixed"):
        get_suite("ci-gate", runs=3)
    with pytest.raises(SuiteError, match="names no solver"):
        STANDARD_V1.specs()


def test_gate_cells_are_resolved_from_the_registry(registry, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    gate = _gate()
    # regression fixture (the cells ci/gate.py hard-coded before issue 31), in order
    dlae = {"k": 4, "p": 2, "n": 50, "exact": True}
    expected = [(c, p, s, mi) for c, p in (("quartic", {}), ("example-1.1", {}), ("dlae", dlae))
                for s, mi in (("newton-mr", 200), ("damped-newton", 200), ("btls-gnm", 500))]
    expected.append(("deep-linear", {}, "damped-newton", 200))
    assert gate.gate_specs(runs=64, seed=0) == [RunSpec(c, dict(p), s, {}, 64, 0, max_iter=mi) for c, p, s, mi in expected]
    # the gate reads the registry entry by name: a plug-in entry of that name is what it runs
    monkeypatch.setattr(registry, "_builtin_table", {k: v for k, v in registry._builtins.items() if k != "ci-gate"})
    registry.register("ci-gate", dataclasses.replace(CI_GATE, cells=(SuiteCell("xor", {}, 64, 30, solver="gnm"),)))
    assert [(s.case, s.solver, s.runs, s.seed) for s in gate.gate_specs(runs=5, seed=3)] == [("xor", "gnm", 5, 3)]


def test_leaderboard_suites_are_resolved_from_the_registry(registry) -> None:  # noqa: ANN001
    assert lb_suite.suite_names() == ["standard-v1", "standard-v2"]  # the ranked ones: scorecard, ci-gate are not
    assert lb_suite.get_suite("standard-v2") is STANDARD_V2
    with pytest.raises(SuiteError, match="unknown suite 'ci-gate'"):
        lb_suite.get_suite("ci-gate")
    tiny = Suite("tiny-v1", "one cell", (SuiteCell("quartic", {}, 3, 30),), reference_solvers=("newton-mr",))
    registry.register("tiny-v1", tiny)
    assert "tiny-v1" in lb_suite.suite_names() and lb_suite.get_suite("tiny-v1") is tiny


def test_scorecard_is_the_registry_entry() -> None:
    specs = reg.default_specs()
    assert specs == get_suite("scorecard").specs()
    assert [s.runs for s in reg.default_specs(runs=3, max_iter=7)] == [3] * len(specs)
    assert {s.max_iter for s in get_suite("scorecard", runs=3, max_iter=7).specs()} == {7}
