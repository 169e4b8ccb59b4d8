"""The one registry mechanism (``cases._registry``) behind solvers, cases, certificates and
experiments: lazy ``module:attr`` loading, one entry-point group per kind, one-line errors
(issue 20, "One registry mechanism").  Plug-ins are written to ``tmp_path`` and published
through a fake ``importlib.metadata.entry_points``; nothing is installed."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cases._registry import Registry, RegistryError, load_ref
from tests.plugins._entry_points import fake_entry_points as _fake_entry_points

ROOT = Path(__file__).resolve().parents[2]


def _write(tmp_path: Path, name: str, source: str) -> None:
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")


@pytest.fixture
def plugin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


@pytest.fixture
def fake_entry_points(monkeypatch: pytest.MonkeyPatch):
    """``publish(group, name, "module:attr")`` makes an entry point visible to every registry."""
    yield from _fake_entry_points(monkeypatch)


# ----------------------------------------------------------------------------- the mechanism itself
def test_builtins_are_lazy_module_attr_references(plugin_dir: Path) -> None:
    _write(plugin_dir, "lazy_thing_mod", "THING = object()\n")
    reg = Registry("widget", "critbench.widgets-test", {"thing": "lazy_thing_mod:THING"})
    assert reg.names() == ["thing"] and "lazy_thing_mod" not in sys.modules  # listing imports nothing
    assert reg.get("thing") is sys.modules["lazy_thing_mod"].THING
    with pytest.raises(RegistryError, match=r"^unknown widget 'nope'; valid widgets: thing$"):
        reg.get("nope")
    with pytest.raises(RegistryError, match="is built in"):
        reg.register("thing", object())


def test_load_ref_failures_are_one_line(plugin_dir: Path) -> None:
    _write(plugin_dir, "needs_missing_dep", "import torchx_not_installed_here\nclass Finder: pass\n")
    _write(plugin_dir, "broken_syntax_mod", "x = 1\ndef f(:\n    pass\n")
    _write(plugin_dir, "raises_at_import", "raise RuntimeError('no GPU\\nsecond line')\n")
    _write(plugin_dir, "fine_mod", "A = 1\n")
    cases = {
        "needs_missing_dep:Finder": "w 'x': importing needs_missing_dep failed: No module named "
                                    "'torchx_not_installed_here' (a missing dependency of the plug-in)",
        "no_such_module_here:X": "w 'x': no module named 'no_such_module_here'",
        "raises_at_import:X": "w 'x': importing raises_at_import failed: RuntimeError: no GPU",
        "fine_mod:B": "w 'x': module 'fine_mod' has no attribute 'B'",
        "fine_mod:": "w 'x': expected 'module:attr', got 'fine_mod:'",
    }
    for ref, msg in cases.items():
        with pytest.raises(RegistryError) as info:
            load_ref(ref, what="w 'x'")
        assert str(info.value) == msg
    with pytest.raises(RegistryError) as info:
        load_ref("broken_syntax_mod:f", what="w 'x'")
    msg = str(info.value)
    assert "\n" not in msg and "broken_syntax_mod.py, line 2" in msg and msg.startswith("w 'x': syntax error in ")


# ----------------------------------------------------------------------------- solvers
def test_missing_dependency_of_a_solver_plugin_is_named(plugin_dir: Path, fake_entry_points) -> None:
    from harness.solvers import SolverError, get_solver

    _write(plugin_dir, "mypkg_needs_torchx", "import torchx_not_installed_here\nclass Finder: pass\n")
    with pytest.raises(SolverError) as info:
        get_solver("mypkg_needs_torchx:Finder")
    assert str(info.value) == ("solver 'mypkg_needs_torchx:Finder': importing mypkg_needs_torchx failed: "
                               "No module named 'torchx_not_installed_here' (a missing dependency of the plug-in)")
    fake_entry_points("critbench.solvers", "finder", "mypkg_needs_torchx:Finder")
    with pytest.raises(SolverError, match=r"^solver 'finder' \(entry point of critbench.solvers\): importing "
                                          r"mypkg_needs_torchx failed: No module named 'torchx_not_installed_here'"):
        get_solver("finder")


def test_solver_plugin_with_a_syntax_error_is_one_cli_line(plugin_dir: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.cli import main

    _write(plugin_dir, "finder_with_typo", "import numpy\n\nclass Finder:\n    name = 'x'\n    def solve(self:\n")
    monkeypatch.chdir(tmp_path)
    rc = main(["run", "--case", "quartic", "--solver", "finder_with_typo:Finder", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1, err
    assert err.startswith("critbench: error: solver 'finder_with_typo:Finder': syntax error in ")
    assert "finder_with_typo.py, line 5" in err and "Traceback" not in err


def test_solver_entry_point_is_lazy_and_builtins_win(plugin_dir: Path, fake_entry_points) -> None:
    from harness.solvers import get_solver, solver_names

    _write(plugin_dir, "ep_solver_mod", """
        from harness.solvers.numpy_adapter import numpy_solver

        @numpy_solver(name="ep-gd")
        def gd(oracles, theta0, max_iter, tol, *, step: float = 0.1):
            return theta0
        """)
    fake_entry_points("critbench.solvers", "ep-gd", "ep_solver_mod:gd")
    fake_entry_points("critbench.solvers", "newton-mr", "ep_solver_mod:gd")  # cannot replace a built-in
    assert "ep-gd" in solver_names() and "ep_solver_mod" not in sys.modules
    assert get_solver("ep-gd", step=0.5).name == "ep-gd"
    assert type(get_solver("newton-mr")).__name__ == "NewtonMR"


def test_a_broken_plugin_does_not_stop_the_builtins(plugin_dir: Path, fake_entry_points) -> None:
    from harness.solvers import SolverError, get_solver, solver_specs

    _write(plugin_dir, "broken_plugin_mod", "import torchx_not_installed_here\n")
    fake_entry_points("critbench.solvers", "broken", "broken_plugin_mod:Finder")
    assert "broken" not in [s.name for s in solver_specs(builtin_only=True)]
    assert get_solver("newton-mr").name
    with pytest.raises(SolverError, match="a missing dependency of the plug-in"):
        solver_specs()  # listing every solver names the broken one


def test_star_import_of_harness_solvers() -> None:
    ns: dict = {}
    exec("from harness.solvers import *", ns)  # __all__ used to name a missing parse_options
    assert {"get_solver", "solver_names", "SolverError", "IterativeSolver", "option_defaults"} <= set(ns)


def test_registry_describe_is_gone() -> None:
    import harness.solvers.registry as reg

    assert not hasattr(reg, "describe")


# ----------------------------------------------------------------------------- cases and certificates
RING_CASE = """
    import numpy as np
    from cases import Case, CaseSpec, CriticalClass, GroundTruth

    def loss_fn(theta, data):
        return (theta @ theta - data) ** 2

    def make_ring(radius: float = 1.0) -> Case:
        if radius <= 0:
            raise ValueError(f"radius must be > 0, got {radius}")
        gt = GroundTruth(classes=(CriticalClass("ring", 0.0, 0, 1, 2, point=np.array([radius, 0.0])),))
        return Case("ring", {"radius": radius}, 2, loss_fn, radius**2,
                    lambda rng, n: rng.normal(size=(n, 2)), gt)

    CASE = CaseSpec("ring", make_ring, description="a ring of minima", ground_truth_kind="exact")
    """

RING_CERTIFICATE = """
    import numpy as np
    from cases.certificates import Certificate, Check

    def certify(case, *, claimed=None):
        gt = claimed if claimed is not None else case.ground_truth
        r = case.params["radius"]
        cls = gt.classes[0]
        p = np.asarray(cls.point)
        return Certificate(case.name, dict(case.params), "closed-form", (
            Check("point on the ring", abs(p @ p - r * r) < 1e-12),
            Check("loss 0", cls.loss == 0.0),
        ))
    """


def test_a_user_registers_a_certified_case_through_entry_points(plugin_dir: Path, fake_entry_points) -> None:
    from cases import CaseError, case_names, case_spec, get_case
    from cases.certificates import certified_names, certify

    _write(plugin_dir, "ringpkg_case", RING_CASE)
    _write(plugin_dir, "ringpkg_certificate", RING_CERTIFICATE)
    fake_entry_points("critbench.cases", "ring", "ringpkg_case:CASE")
    fake_entry_points("critbench.certificates", "ring", "ringpkg_certificate:certify")
    assert "ring" in case_names() and "ring" in certified_names()
    assert "ringpkg_case" not in sys.modules  # listing imports nothing
    assert case_spec("ring").defaults() == {"radius": 1.0}
    assert get_case("ring", radius=2.0).dim == 2
    cert = certify("ring", radius=2.0)
    assert cert.ok and cert.params == {"radius": 2.0}
    with pytest.raises(CaseError, match=r"^case 'ring': radius must be > 0, got -1"):
        get_case("ring", radius=-1.0)


def test_case_entry_point_that_is_not_a_casespec(plugin_dir: Path, fake_entry_points) -> None:
    from cases import CaseError, get_case

    _write(plugin_dir, "not_a_spec_mod", "CASE = 42\n")
    fake_entry_points("critbench.cases", "bogus", "not_a_spec_mod:CASE")
    with pytest.raises(CaseError, match=r"^case 'bogus': expected a cases.CaseSpec, got int$"):
        get_case("bogus")


@pytest.mark.parametrize("call, message", [
    ("cases.get_case('nope')", "unknown case 'nope'; valid cases: deep-linear, "),
    ("harness.solvers.get_solver('nope')", "unknown solver 'nope'; valid solvers: btls-gnm, "),
    ("cases.certificates.certify('swish-mlp')", "no certificate for case 'swish-mlp'; certified cases: deep-linear, "),
    ("harness.reproduce.get_experiment('nope')", "unknown experiment 'nope'; known: table-3.1, "),
])
def test_one_error_style(call: str, message: str) -> None:
    import cases.certificates  # noqa: F401
    import harness.reproduce  # noqa: F401
    import harness.solvers  # noqa: F401

    with pytest.raises(RegistryError) as info:
        eval(call, {"cases": sys.modules["cases"], "harness": sys.modules["harness"]})
    assert isinstance(info.value, ValueError) and str(info.value).startswith(message) and "\n" not in str(info.value)


def test_experiments_through_the_entry_point_group(plugin_dir: Path, fake_entry_points) -> None:
    from harness.reproduce import experiment_names, get_experiment

    _write(plugin_dir, "my_experiment_mod", """
        from harness.reproduce import Experiment
        EXPERIMENT = Experiment("my-exp", "Mine", "my paper", run=lambda ctx: None)
        """)
    fake_entry_points("critbench.experiments", "my-exp", "my_experiment_mod:EXPERIMENT")
    builtin = ["table-3.1", "fig-3.2-3.3", "sec-3.2.3.2", "fig-3.4", "fig-3.5", "sec-3.5", "si-lines", "cooper-locus",
               "cooper-star", "stoican-6.1", "safran-shamir"]
    assert experiment_names()[:len(builtin)] == builtin
    assert experiment_names()[len(builtin):] == ["my-exp"] and "my_experiment_mod" not in sys.modules
    assert get_experiment("my-exp").title == "Mine"


# ----------------------------------------------------------------------------- import time
def test_importing_the_packages_and_listing_names_does_not_import_jax() -> None:
    code = textwrap.dedent("""
        import sys
        import harness, cases, harness.cli, harness.solvers, harness.reproduce
        harness.cli.build_parser()
        assert cases.case_names() and harness.solvers.solver_names() and harness.reproduce.experiment_names()
        from cases.certificates import certified_names
        assert certified_names()
        heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('jax', 'sympy'))
        assert not heavy, heavy[:5]
        """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]


def test_a_plugin_folder_added_after_the_pool_started_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """The solver workers outlive a command (one pool per process): a plug-in whose folder joins
    ``sys.path`` after the workers were spawned must still load in them."""
    from harness.cli import main
    from harness.run.pool import shared_pool

    shared_pool(1)  # workers spawned with today's sys.path
    late = tmp_path / "late"
    late.mkdir()
    _write(late, "late_plugin_solver", """
        from harness.solvers.numpy_adapter import numpy_solver

        @numpy_solver(name="late-gd")
        def gd(oracles, theta0, max_iter, tol):
            return theta0
        """)
    monkeypatch.syspath_prepend(str(late))
    rc = main(["run", "--case", "quartic", "--solver", "late_plugin_solver:gd", "--runs", "2", "--max-iter", "3",
               "--out", str(tmp_path / "o"), "--quiet"])
    err = capsys.readouterr().err
    assert "no module named" not in err, err
    assert rc in (0, 1) and (tmp_path / "o" / "runs.jsonl").exists(), err
