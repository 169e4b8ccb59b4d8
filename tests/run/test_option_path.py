"""A solver option's path from the command line to the stored record goes through at most 8 files
(issue 31), measured: ``critbench run --option forcing=<value>`` runs under a tracer
(:mod:`tests.run._option_trace`) that lists every file whose functions receive the value as plain
data, until the record is stored.

Not hops of the path: the solver itself (``harness/solvers/`` apart from its registry), where the
option is going, and the copy of the command line and of the spec that ``meta.json`` records
(arguments ``command``/``meta``).  Built-in solvers are solved in this process
(:class:`~harness.run.pool.InlineBackend`), so the worker's half is traced too; a worker process
runs the same functions on the same :class:`~harness.run.cell.SolveTask` values.
"""

from __future__ import annotations

import importlib
import json
import sys
import textwrap
from pathlib import Path

import harness
from tests.run._option_trace import trace_files

REPO = Path(harness.__file__).parent.parent
VALUE = 0.123456789
#: The path (the order is the data flow; build_records hands the record to the store's as_stored).
PATH = ["harness/cli.py",                # --option forcing=V: split into KEY=VALUE, not typed
        "harness/run/spec.py",           # RunSpec types it once against the solver's defaults
        "harness/run/cell.py",           # resolve: SolverRef(name, options), describe, Cell
        "harness/solvers/registry.py",   # get_solver(name, **options) builds the solver
        "harness/run/keys.py",           # solver_key hashes the complete options
        "harness/run/judge.py",          # build_records: the record's solver_options
        "harness/results/store.py",      # append_batch stores the record
        "harness/results/records.py"]    # ... after checking it against the record schema


def _is_solver(path: str) -> bool:
    return path.startswith("harness/solvers/") and path != "harness/solvers/registry.py"


def test_forcing_reaches_the_record_through_at_most_eight_files(tmp_path, monkeypatch, capsys):
    import harness.run.pool as pool
    import harness.run.runner as runner
    from harness.cli import main

    monkeypatch.setattr(runner, "shared_pool", lambda size=1: pool.InlineBackend())
    out = tmp_path / "out"
    argv = ["run", "--case", "quartic", "--solver", "newton-mr", "--option", f"forcing={VALUE!r}", "--runs", "2",
            "--max-iter", "20", "--out", str(out), "--quiet"]
    rc, hits = trace_files(lambda: main(argv), VALUE, root=str(REPO), skip=("command", "meta"))
    capsys.readouterr()
    assert rc == 0
    records = [json.loads(line) for line in (out / "runs.jsonl").read_text().splitlines()]
    assert [r["solver_options"]["forcing"] for r in records] == [VALUE, VALUE]  # it did reach the record
    ours = [f for f in hits if f.startswith(("harness/", "cases/"))]
    assert any(_is_solver(f) for f in ours), hits  # ... and the solver (traced, not counted)
    path = [f for f in ours if not _is_solver(f)]
    assert sorted(path) == sorted(PATH), {f: hits[f] for f in path}
    assert len(path) <= 8


def test_the_tracer_sees_plain_data_and_constructors_not_opaque_carriers(tmp_path, monkeypatch):
    """A test of the tracer: a value passed as a dict, a bare float, into a dataclass and inside a
    list of dicts is seen; a function that only gets the dataclass is not; calls after the stop are not."""
    pkg = tmp_path / "tracepkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text(textwrap.dedent("""
        from tracepkg import b, c
        def entry(opts):
            return b.pick(opts)
        def after(x):
            return x
        def run(opts):
            box = entry(opts)
            c.store([{"o": {"v": box.v}}])
            return after([opts])
    """))
    (pkg / "b.py").write_text(textwrap.dedent("""
        from tracepkg import d
        def pick(opts):
            return d.Box(opts["v"])
    """))
    (pkg / "c.py").write_text(textwrap.dedent("""
        def store(records):
            return opaque(len(records))
        def opaque(n):
            return n
    """))
    (pkg / "d.py").write_text(textwrap.dedent("""
        import dataclasses
        @dataclasses.dataclass(frozen=True)
        class Box:
            v: float
        def carry(box):
            return box
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    a = importlib.import_module("tracepkg.a")
    d = importlib.import_module("tracepkg.d")
    try:
        _, hits = trace_files(lambda: d.carry(a.entry({"v": VALUE})), VALUE, root=str(tmp_path))
        assert hits == {"tracepkg/a.py": ["entry"], "tracepkg/b.py": ["pick"], "tracepkg/d.py": ["__init__"]}
        _, hits = trace_files(lambda: a.run({"v": VALUE}), VALUE, root=str(tmp_path), stop="store")
        assert hits["tracepkg/c.py"] == ["store"] and "after" not in hits["tracepkg/a.py"]
        _, hits = trace_files(lambda: a.entry({"v": 0.5}), VALUE, root=str(tmp_path))
        assert hits == {}
    finally:
        for name in [m for m in sys.modules if m.startswith("tracepkg")]:
            del sys.modules[name]
