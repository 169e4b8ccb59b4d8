"""Sweep files: expansion into cells; the dry run (blocks as the pipeline plans them); malformed files -> exit 2 naming the key."""

from __future__ import annotations

import pytest

from harness.cli import main
from harness.sweep import SweepError, load_sweep, parse_sweep

GOOD = """
runs = 10
seeds = [0, 3]
batch_size = 4
max_iter = [20, 40]

[[case]]
name = "quartic"

[[case]]
name = "dlae"
params = { k = [3, 4], p = 2, n = 20 }

[[solver]]
name = "newton-mr"
options = { forcing = [0.1, 0.5, 0.9] }
"""


def test_expansion_is_the_grid_product(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text(GOOD)
    sw = load_sweep(f)
    # (quartic + dlae k in {3,4}) x forcing(3) x max_iter(2) x seeds(2)
    assert len(sw.cells) == 3 * 3 * 2 * 2
    assert sw.runs == 36 * 10
    assert set(sw.swept) == {"case.k", "solver.forcing", "max_iter", "seed"}
    dl = [c for c in sw.cells if c.case == "dlae"]
    assert sorted({c.case_params["k"] for c in dl}) == [3, 4] and all(c.case_params["p"] == 2 for c in dl)
    assert {(c.solver_options["forcing"], c.max_iter, c.seed) for c in sw.cells if c.case == "quartic"} == {
        (f, m, s) for f in (0.1, 0.5, 0.9) for m in (20, 40) for s in (0, 3)}
    assert all(c.batch_size == 4 for c in sw.cells)  # lanes; blocks are the pipeline's (harness.run.plan)


def test_dry_run_prints_cells_runs_and_hvp_bound(tmp_path, capsys):
    f = tmp_path / "s.toml"
    f.write_text('runs = 6\nbatch_size = 4\nmax_iter = 10\n[[case]]\nname = "quartic"\n'
                 '[[solver]]\nname = "newton-mr"\noptions = { forcing = [0.1, 0.5] }\n')
    assert main(["sweep", str(f), "--out", str(tmp_path / "o"), "--dry-run"]) == 0
    out = capsys.readouterr().out
    # cells hold the complete typed values (harness.run.spec), so the label lists every one
    assert out.count("quartic[angle=0.0] x newton-mr[maxit=0,") == 2
    assert "forcing=0.1," in out and "forcing=0.5," in out
    # quartic: dim 2, Newton-MR's declared bound per iteration: maxit=0 -> dim MINRES-QLP HVPs, + 1 for
    # H p, + 1 for the exact r_H (exact_flatness, the default): 6 * 10 * 4
    assert "6 runs in 1 block(s) on 4 lanes, <= 240 HVPs" in out  # one refilling block drains the 6 runs
    assert "2 cells, 12 runs, 2 blocks, <= 480 HVPs" in out and "swept: solver.forcing" in out
    assert not (tmp_path / "o").exists()  # nothing ran


@pytest.mark.parametrize("text, key", [
    ('runs = 4\n[[solver]]\nname = "newton-mr"\n', "missing key 'case'"),
    ('[[case]]\nname = "quartic"\n[[solver]]\nname = "newton-mr"\n', "missing key 'runs'"),
    ('runs = 4\nbogus = 1\n[[case]]\nname = "quartic"\n[[solver]]\nname = "newton-mr"\n', "unknown key 'bogus'"),
    ('runs = 0\n[[case]]\nname = "quartic"\n[[solver]]\nname = "newton-mr"\n', "'runs'"),
    ('runs = 4\nseeds = [-1]\n[[case]]\nname = "quartic"\n[[solver]]\nname = "newton-mr"\n', "'seeds'"),
    ('runs = 4\ntol = "x"\n[[case]]\nname = "quartic"\n[[solver]]\nname = "newton-mr"\n', "'tol'"),
    ('runs = 4\n[[case]]\nname = "quartic"\nparam = {}\n[[solver]]\nname = "newton-mr"\n', "'case[0].param'"),
    ('runs = 4\n[[case]]\nname = "quartic"\n[[solver]]\noptions = {}\n', "'solver[0].name'"),
    ('runs = 4\n[[case]]\nname = "quartic"\n[[solver]]\nname = "newton-mr"\noptions = { forcing = [] }\n',
     "forcing is an empty list"),
    ('runs = 4\n[[case]]\nname = "quartic"\n[[solver]\nname = "x"\n', "line 4"),
    ('runs = 4\n[[case]]\nname = "nope"\n[[solver]]\nname = "newton-mr"\n', "nope"),
    ('runs = 4\n[[case]]\nname = "quartic"\n[[solver]]\nname = "newton-mr"\noptions = { bogus_opt = 1 }\n',
     "bogus_opt"),
])
def test_malformed_sweep_file_exit_2_one_line(tmp_path, capsys, text, key):
    f = tmp_path / "bad.toml"
    f.write_text(text)
    assert main(["sweep", str(f), "--out", str(tmp_path / "o"), "--dry-run"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("critbench: error:") and len(err.splitlines()) == 1 and key in err, err


def test_missing_sweep_file(tmp_path, capsys):
    assert main(["sweep", str(tmp_path / "none.toml"), "--out", str(tmp_path / "o")]) == 2
    assert "cannot read sweep file" in capsys.readouterr().err


def test_parse_sweep_rejects_nested_tables():
    with pytest.raises(SweepError, match=r"case\[0\]\.params'\.k must be a value"):
        parse_sweep({"runs": 2, "case": [{"name": "quartic", "params": {"k": {"a": 1}}}],
                     "solver": [{"name": "newton-mr"}]})


def _sweep(text: str):
    import tomllib

    return parse_sweep(tomllib.loads(text))


def test_cells_hold_complete_typed_values():
    """Issue 20: TOML `forcing = 0` (an int) is the float 0.0, and every default is filled in."""
    from harness.solvers import option_defaults

    (cell,) = _sweep('runs = 2\n[[case]]\nname = "quartic"\n[[solver]]\nname = "newton-mr"\n'
                     'options = { forcing = 0 }\n').cells
    assert cell.solver_options == {**option_defaults("newton-mr"), "forcing": 0.0}
    assert type(cell.solver_options["forcing"]) is float
    assert cell.case_params == {"angle": 0.0} and type(cell.tol) is float


def test_tuple_parameter_list_is_one_value_list_of_lists_is_an_axis():
    fixed = _sweep('runs = 2\n[[case]]\nname = "dlae"\nparams = { k = 4, p = 2, n = 20, spectrum = [4, 3, 2, 1] }\n'
                   '[[solver]]\nname = "newton-mr"\n')
    assert [c.case_params["spectrum"] for c in fixed.cells] == [(4.0, 3.0, 2.0, 1.0)]
    assert "case.spectrum" not in fixed.swept
    swept = _sweep('runs = 2\n[[case]]\nname = "dlae"\n'
                   'params = { k = 4, p = 2, n = 20, spectrum = [[4, 3, 2, 1], [5.0, 4.0, 3.0, 2.0]] }\n'
                   '[[solver]]\nname = "newton-mr"\n')
    assert [c.case_params["spectrum"] for c in swept.cells] == [(4.0, 3.0, 2.0, 1.0), (5.0, 4.0, 3.0, 2.0)]
    assert swept.swept == ("case.spectrum",)
    empty = _sweep('runs = 2\n[[case]]\nname = "dlae"\nparams = { k = 4, p = 2, n = 20, spectrum = [] }\n'
                   '[[solver]]\nname = "newton-mr"\n')
    assert [c.case_params["spectrum"] for c in empty.cells] == [()]


@pytest.mark.parametrize("opts, words", [
    ("forcing = true", ("forcing=True", "float")),
    ('forcing = "fast"', ("forcing='fast'", "float")),
    ("maxit = 2.5", ("maxit=2.5", "int")),
])
def test_wrongly_typed_toml_value_is_one_line_sweep_error(opts, words):
    with pytest.raises(SweepError) as exc:
        _sweep(f'runs = 2\n[[case]]\nname = "quartic"\n[[solver]]\nname = "newton-mr"\noptions = {{ {opts} }}\n')
    msg = str(exc.value)
    assert len(msg.splitlines()) == 1 and all(w in msg for w in words), msg
