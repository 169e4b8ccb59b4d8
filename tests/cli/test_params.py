"""Command-line strings are parsed once (harness.run.spec) into complete typed values,
and meta.json, RunSpec and run records then hold the same values."""

from __future__ import annotations

import json

import pytest

from harness.cli import main
from harness.run.spec import ParamError, parse_assignments, parse_value

DEFAULTS = {"k": 6, "rate": 0.5, "exact": True, "spectrum": (4.0, 3.0), "variant": "tanh", "opt": None}


def test_values_are_typed_by_the_default():
    got = parse_assignments(["k=4", "rate=1e-3", "exact=no", "spectrum=1, 2.5,", "variant=swish", "opt=x"],
                            DEFAULTS, owner="case 't'")
    assert got == {"k": 4, "rate": 1e-3, "exact": False, "spectrum": (1.0, 2.5), "variant": "swish", "opt": "x"}
    assert type(got["k"]) is int and type(got["rate"]) is float and type(got["spectrum"][0]) is float


def test_result_is_complete_defaults_plus_given():
    assert parse_assignments([], DEFAULTS, owner="o") == DEFAULTS
    assert parse_assignments(["k=7"], DEFAULTS, owner="o") == {**DEFAULTS, "k": 7}


@pytest.mark.parametrize(
    "items, words",
    [(["k=4.5"], ("k=", "int")), (["exact=maybe"], ("exact", "bool")), (["nope=1"], ("unknown", "nope", "valid")),
     (["k"], ("KEY=VALUE",)), (["spectrum=1,x"], ("spectrum", "tuple"))],
)
def test_bad_input_is_a_one_line_param_error(items, words):
    with pytest.raises(ParamError) as exc:
        parse_assignments(items, DEFAULTS, owner="case 't'")
    assert len(str(exc.value).splitlines()) == 1 and all(w in str(exc.value) for w in words)


def test_bool_spellings():
    assert [parse_value(v, False, key="b", owner="o") for v in ("1", "TRUE", "yes", "on")] == [True] * 4
    assert [parse_value(v, True, key="b", owner="o") for v in ("0", "False", "no", "off")] == [False] * 4


def test_registries_do_not_coerce_strings():
    """One parser: the two registries' twin string-coercion code is gone."""
    import cases.registry
    import harness.solvers.registry
    from harness.solvers import SolverError, get_solver

    assert not hasattr(cases.registry, "_coerce") and not hasattr(harness.solvers.registry, "_coerce")
    with pytest.raises(SolverError):
        get_solver("newton-mr", forcing="0.5")


def test_meta_and_records_hold_the_same_typed_options(tmp_path, capsys):
    """Issue 12: meta.json stored "forcing": "0.5" while the records stored 0.5."""
    out = tmp_path / "out"
    assert main(["run", "--case", "quartic", "--param", "angle=0.25", "--solver", "newton-mr", "--option",
                 "forcing=0.5", "--runs", "2", "--max-iter", "20", "--out", str(out), "--quiet"]) == 0
    meta = json.loads((out / "meta.json").read_text())
    (spec,) = meta["specs"]
    recs = [json.loads(line) for line in (out / "runs.jsonl").read_text().splitlines()]
    assert spec["solver_options"]["forcing"] == 0.5 and isinstance(spec["solver_options"]["forcing"], float)
    assert spec["case_params"] == {"angle": 0.25}
    for r in recs:
        assert r["solver_options"] == spec["solver_options"]
        assert r["case_params"] == spec["case_params"]


def test_each_case_is_built_once_per_cell(tmp_path, monkeypatch):
    import cases
    import harness.run.runner as runner

    calls = []
    real = cases.get_case  # the parent builds each cell's case once (harness.run.cell.resolve)
    monkeypatch.setattr(cases, "get_case", lambda name, **p: calls.append(name) or real(name, **p))
    specs = [runner.RunSpec("quartic", {}, s, {}, 2, 0, max_iter=5) for s in ("newton-mr", "damped-newton")]
    runner.run_suite(specs, tmp_path / "out")
    # per cell, in the parent: the one scoring case (rebuilt from (name, params), never held by a
    # solver: the workers build their own) -- not again for validation, keys or initial points
    assert calls == ["quartic"] * 2


# --------------------------------------------------------------------------- one typed parse for every source
def test_python_values_are_typed_by_the_default():
    import numpy as np

    from harness.run.spec import type_values

    got = type_values({"k": np.int64(4), "rate": 0, "exact": False, "spectrum": [1, 2.5], "variant": "swish",
                       "opt": 3}, DEFAULTS, owner="o")
    assert got == {"k": 4, "rate": 0.0, "exact": False, "spectrum": (1.0, 2.5), "variant": "swish", "opt": 3}
    assert type(got["k"]) is int and type(got["rate"]) is float and type(got["spectrum"][0]) is float
    # strings from any source are parsed as on the command line
    assert type_values({"rate": "0"}, DEFAULTS, owner="o")["rate"] == 0.0


@pytest.mark.parametrize("given, words", [
    ({"rate": True}, ("rate=True", "float")), ({"k": True}, ("k=True", "int")), ({"k": 4.0}, ("k=4.0", "int")),
    ({"exact": 1}, ("exact=1", "bool")), ({"spectrum": 3.0}, ("spectrum", "tuple")),
    ({"spectrum": [1, "x"]}, ("spectrum", "tuple")), ({"variant": 2}, ("variant=2", "str")),
    ({"nope": 1}, ("unknown", "nope", "valid")),
])
def test_wrong_python_value_is_a_one_line_param_error(given, words):
    from harness.run.spec import type_values

    with pytest.raises(ParamError) as exc:
        type_values(given, DEFAULTS, owner="case 't'")
    assert len(str(exc.value).splitlines()) == 1 and all(w in str(exc.value) for w in words), str(exc.value)


def test_typing_is_idempotent():
    from harness.run.spec import type_values

    once = parse_assignments(["k=4", "spectrum=1,2"], DEFAULTS, owner="o")
    assert type_values(once, DEFAULTS, owner="o") == once


def test_cli_sweep_and_python_give_one_value():
    """Issue 20: `forcing = 0` (TOML / Python int) and `--option forcing=0.0` are one value."""
    from harness.run.spec import RunSpec, split_assignments
    from harness.sweep.spec import parse_sweep

    # what `critbench run --option forcing=0.0` builds: the strings as given, typed by RunSpec
    cli = RunSpec("quartic", {}, "newton-mr", split_assignments(["forcing=0.0"], what="option"), 2, 0).solver_options
    py = RunSpec("quartic", {}, "newton-mr", {"forcing": 0}, 2, 0).solver_options
    (cell,) = parse_sweep({"runs": 2, "case": {"name": "quartic"},
                           "solver": {"name": "newton-mr", "options": {"forcing": 0}}}).cells
    assert cli == py == cell.solver_options
    assert all(type(d["forcing"]) is float for d in (cli, py, cell.solver_options))


def test_run_spec_rejects_wrong_values_at_construction():
    from harness.run.spec import RunSpec

    with pytest.raises(ValueError, match="forcing=True is not a valid float"):
        RunSpec("quartic", {}, "newton-mr", {"forcing": True}, 2, 0)
    with pytest.raises(ValueError, match="unknown parameter"):
        RunSpec("quartic", {"k": 3}, "newton-mr", {}, 2, 0)


def test_run_spec_module_stays_jax_free():
    import subprocess
    import sys

    code = "import sys, harness.run.spec; print('jax' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
