"""The result store: atomic batches, torn lines, malformed files, no JAX import."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness.results.store import ResultStore, StoreError, StoreWarning, load_arrays, load_meta, load_records

ROOT = Path(__file__).resolve().parents[2]


def _rec(run_id, **fields):
    """A minimal valid run record (every required field of harness.results.records)."""
    rec = {"run_id": run_id, "batch_id": "b0", "batch_row": 0, "case": "quartic", "case_key": "quartic-k",
           "solver": "s", "solver_key": "s-k", "seed": 0, "run_index": 0, "status": "converged",
           "outcome": "critical"}
    return {**rec, **fields}


def _line(run_id):
    return json.dumps(_rec(run_id))


def _batch(ids, bid="b0"):
    recs = [_rec(f"r{i}", final_r=float("nan")) for i in ids]
    return recs, {"theta": np.arange(2.0 * len(ids)).reshape(len(ids), 2)}, bid


def test_append_and_load_roundtrip(tmp_path):
    st = ResultStore(tmp_path / "res")
    st.append_batch(*_batch([0, 1], "b0"))
    st.append_batch(*_batch([2], "b1"))
    recs = load_records(tmp_path / "res")
    assert [r["run_id"] for r in recs] == ["r0", "r1", "r2"]
    assert recs[0]["batch_id"] == "b0" and recs[2]["batch_id"] == "b1"
    assert recs[0]["final_r"] is None  # NaN stored as strict-JSON null
    assert np.array_equal(load_arrays(tmp_path / "res", "b0")["theta"], [[0.0, 1.0], [2.0, 3.0]])
    assert st.finished_run_ids() == {"r0", "r1", "r2"}
    assert not [p for p in (tmp_path / "res" / "arrays").iterdir() if p.name.startswith(".tmp")]
    # every line is a complete JSON object ending in a newline
    assert (tmp_path / "res" / "runs.jsonl").read_bytes().endswith(b"\n")


def test_duplicate_run_id_rejected(tmp_path):
    st = ResultStore(tmp_path)
    st.append_batch(*_batch([0], "b0"))
    with pytest.raises(StoreError, match="already stored"):
        st.append_batch(*_batch([0], "b1"))
    assert len(load_records(tmp_path)) == 1


def test_torn_trailing_line_skipped_then_cut(tmp_path):
    st = ResultStore(tmp_path)
    st.append_batch(*_batch([0, 1], "b0"))
    with open(tmp_path / "runs.jsonl", "ab") as fh:
        fh.write(b'{"run_id": "r2", "outc')  # killed mid-write
    with pytest.warns(StoreWarning, match="torn"):
        recs = load_records(tmp_path)
    assert [r["run_id"] for r in recs] == ["r0", "r1"]
    assert st.finished_run_ids() == {"r0", "r1"}
    with pytest.warns(StoreWarning):
        st.append_batch(*_batch([2], "b1"))
    assert [r["run_id"] for r in load_records(tmp_path)] == ["r0", "r1", "r2"]


def test_unterminated_but_parseable_last_line_is_torn(tmp_path):
    ResultStore(tmp_path).append_batch(*_batch([0], "b0"))
    with open(tmp_path / "runs.jsonl", "a") as fh:
        fh.write(_line("b"))
    with pytest.warns(StoreWarning, match="torn"):
        assert [r["run_id"] for r in load_records(tmp_path)] == ["r0"]


@pytest.mark.parametrize("bad", ['{"run_id": "b"', '[1, 2]', '{"no_id": 1}'])
def test_malformed_middle_line_raises_on_trusted_reindex(tmp_path, bad):
    from harness.results.store import reindex

    (tmp_path / "runs.jsonl").write_text(_line("a") + "\n" + bad + "\n" + _line("c") + "\n")
    with pytest.raises(StoreError, match="line 2") as exc:
        reindex(tmp_path, trust=True)
    assert "\n" not in str(exc.value)
    assert not (tmp_path / "runs.index").exists()


def test_missing_directory_and_arrays(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        load_records(tmp_path / "nope")
    with pytest.raises(StoreError, match="runs.jsonl"):
        load_records(tmp_path)
    with pytest.raises(StoreError, match="no arrays"):
        load_arrays(tmp_path, "b9")
    with pytest.raises(StoreError, match="invalid batch_id"):
        load_arrays(tmp_path, "../etc")
    with pytest.raises(StoreError):
        ResultStore(tmp_path / "nope", create=False)


def test_write_meta_merges(tmp_path):
    st = ResultStore(tmp_path)
    st.write_meta(command=["critbench"], provenance={"jax": "x"})
    st.write_meta(specs=[1])
    assert load_meta(tmp_path) == {"command": ["critbench"], "provenance": {"jax": "x"}, "specs": [1]}
    (tmp_path / "meta.json").write_text("{oops")
    with pytest.raises(StoreError):
        load_meta(tmp_path)


def test_store_module_does_not_import_jax():
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('store', {str(ROOT / 'harness' / 'results' / 'store.py')!r})\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "assert 'jax' not in sys.modules, 'store imported jax'\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "ok", out.stderr
    assert importlib.util.find_spec("harness.results.store") is not None
    json.dumps({})  # keep json import used


# --------------------------------------------------------------------------- run index (runs.index)
def _index_entries(d):
    return [json.loads(line) for line in (d / "runs.index").read_text().splitlines()]


def test_index_written_with_each_append_and_reopened(tmp_path):
    st = ResultStore(tmp_path)
    st.append_batch(*_batch([0, 1], "b0"))
    st.append_batch(*_batch([2], "b1"))
    ents = _index_entries(tmp_path)
    assert [(e["batch_id"], e["run_ids"]) for e in ents] == [("b0", ["r0", "r1"]), ("b1", ["r2"])]
    assert ents[-1]["end"] == (tmp_path / "runs.jsonl").stat().st_size
    st2 = ResultStore(tmp_path)  # reopen: the index is read, not rebuilt
    assert st2.finished_run_ids() == {"r0", "r1", "r2"} and st2.batch_ids() == {"b0", "b1"}
    assert [r["run_id"] for r in st2.records_for(["r2", "r0", "zz"])] == ["r0", "r2"]
    with pytest.raises(StoreError, match="already stored"):
        st2.append_batch(*_batch([1], "b2"))


def test_append_does_not_reparse_runs_jsonl(tmp_path, monkeypatch):
    """O(batch) appends: once the index is loaded, appending never reads runs.jsonl."""
    import harness.results.store as store_mod

    st = ResultStore(tmp_path)
    st.append_batch(*_batch([0], "b0"))
    calls = []
    orig = store_mod.parse_record
    monkeypatch.setattr(store_mod, "parse_record", lambda raw, where: calls.append(where) or orig(raw, where))
    monkeypatch.setattr(store_mod, "load_records", lambda *a, **k: pytest.fail("append read the whole store"))
    for k in range(1, 6):
        st.append_batch(*_batch([k], f"b{k}"))
    assert calls == []
    assert st.finished_run_ids() == {f"r{k}" for k in range(6)}


def test_index_deleted_is_not_rebuilt_without_trust(tmp_path):
    from harness.results.store import reindex

    st = ResultStore(tmp_path)
    st.append_batch(*_batch([0, 1], "b0"))
    st.append_batch(*_batch([2], "b1"))
    before = _index_entries(tmp_path)
    assert all(len(e["sha256"]) == 64 for e in before)
    (tmp_path / "runs.index").unlink()
    with pytest.raises(StoreError, match="no runs.index.*--trust"):
        ResultStore(tmp_path)
    with pytest.raises(StoreError, match="no runs.index"):
        load_records(tmp_path)
    with pytest.raises(StoreError, match="--trust"):
        reindex(tmp_path)
    assert not (tmp_path / "runs.index").exists()
    assert reindex(tmp_path, trust=True) == 3
    assert _index_entries(tmp_path) == before  # the same entries, hashes included
    st2 = ResultStore(tmp_path)
    assert st2.finished_run_ids() == {"r0", "r1", "r2"} and st2.batch_ids() == {"b0", "b1"}
    with pytest.raises(StoreError, match="already stored"):
        st2.append_batch(*_batch([2], "b2"))


def test_foreign_lines_are_never_counted(tmp_path):
    st = ResultStore(tmp_path)
    st.append_batch(*_batch([0], "b0"))
    forged = json.dumps({**_rec("r7", batch_id="bx"), "outcome": "critical"})
    with open(tmp_path / "runs.jsonl", "a") as fh:  # another writer (a plug-in) appends schema-valid lines
        fh.write(forged + "\n" + json.dumps(_rec("r0", outcome="other")) + "\n")
    assert ResultStore(tmp_path).finished_run_ids() == {"r0"}
    assert st.finished_run_ids() == {"r0"} and not st.has_run("r7")
    with pytest.warns(StoreWarning, match="ignored 2 lines in runs.jsonl not written by critbench"):
        assert [r["run_id"] for r in load_records(tmp_path)] == ["r0"]
    st.append_batch(*_batch([7], "b7"))  # the harness goes on storing its own runs after them
    recs = load_records(tmp_path, warn=False)
    assert [(r["run_id"], r["batch_id"]) for r in recs] == [("r0", "b0"), ("r7", "b7")]
    assert [e["batch_id"] for e in _index_entries(tmp_path)] == ["b0", "b7"]


def test_edited_batch_is_ignored_by_readers_and_refused_by_writers(tmp_path):
    st = ResultStore(tmp_path)
    st.append_batch(*_batch([0, 1], "b0"))
    st.append_batch(*_batch([2], "b1"))
    data = (tmp_path / "runs.jsonl").read_bytes()
    (tmp_path / "runs.jsonl").write_bytes(data.replace(b'"outcome": "critical"', b'"outcome": "other"   ', 1))
    with pytest.warns(StoreWarning, match=r"ignored 2 lines .*2 in 1 batch\(es\) whose bytes do not match"):
        assert [r["run_id"] for r in load_records(tmp_path)] == ["r2"]
    with pytest.raises(StoreError, match="bytes 0-.*batch 'b0'.*do not match their hash"):
        ResultStore(tmp_path)
    with pytest.warns(StoreWarning, match="no longer matches"):
        assert st.records_for(["r0", "r2"]) == [r for r in load_records(tmp_path, warn=False) if r["run_id"] == "r2"]


def test_torn_lines_with_index(tmp_path):
    st = ResultStore(tmp_path)
    st.append_batch(*_batch([0, 1], "b0"))
    with open(tmp_path / "runs.jsonl", "ab") as fh:
        fh.write(b'{"run_id": "r2", "outc')  # killed mid-write
    with open(tmp_path / "runs.index", "ab") as fh:
        fh.write(b'{"start": 0, "en')  # and mid-index-write
    st2 = ResultStore(tmp_path)
    assert st2.finished_run_ids() == {"r0", "r1"}
    with pytest.warns(StoreWarning, match="torn"):
        st2.append_batch(*_batch([2], "b1"))
    assert [r["run_id"] for r in load_records(tmp_path)] == ["r0", "r1", "r2"]
    assert ResultStore(tmp_path).finished_run_ids() == {"r0", "r1", "r2"}
    assert [e["batch_id"] for e in _index_entries(tmp_path)] == ["b0", "b1"]


def test_two_processes_append_without_duplicates(tmp_path):
    """Two store objects (as two writer processes) see each other's batches under the lock."""
    a, b = ResultStore(tmp_path), ResultStore(tmp_path)
    a.append_batch(*_batch([0], "b0"))
    b.append_batch(*_batch([1], "b1"))
    with pytest.raises(StoreError, match="already stored"):
        a.append_batch(*_batch([1], "b2"))
    assert a.batch_ids() == {"b0", "b1"} == ResultStore(tmp_path).batch_ids()
    assert [r["run_id"] for r in load_records(tmp_path)] == ["r0", "r1"]


# --------------------------------------------------------------------------- columnar snapshot (Parquet)
def _real_like(ids, bid):
    recs = [{**_rec(f"r{i}", run_index=i), "case": "c", "case_key": "c-1", "solver": "s", "solver_key": "s-1",
             "outcome": ("critical", "other", "gradient-flat")[i % 3], "correct": (i % 3 == 0) if i % 5 else None,
             "hvps": 10 + i, "grads": 2, "seconds": 0.5, "compile_seconds": 1.0 if i == ids[0] else 0.0,
             "ever_gradient_flat": i % 3 == 2, "reported_ever_gradient_flat": i % 2 == 0, "loss_error": 1e-9 * i if i % 3 == 0 else None,
             "index_error_count": 0, "index_error_fraction": 0.0, "final_r": float("inf") if i == 4 else 0.5,
             "case_params": {"k": i}, "provenance": {"time": "2026-01-01T00:00:00"}} for i in ids]
    return recs, {"theta": np.zeros((len(ids), 2))}, bid


def test_columnar_snapshot_reads_like_jsonl(tmp_path):
    from harness.results.columnar import SCORE_FIELDS, compact, load_columns, segments
    from harness.scoring.summary import summarize

    st = ResultStore(tmp_path)
    st.append_batch(*_real_like(range(0, 6), "b0"))
    assert segments(tmp_path) == [] and compact(tmp_path)
    st.append_batch(*_real_like(range(6, 9), "b1"))  # a JSONL tail after the snapshot
    full = load_records(tmp_path)
    cols = list(dict.fromkeys(k for r in full for k in r))
    got = load_columns(tmp_path, cols)
    assert got == [{c: r.get(c) for c in cols} for r in full]  # nested, "inf" and null fields round-trip
    assert summarize(load_columns(tmp_path, SCORE_FIELDS)) == summarize(full)  # score needs only these fields
    assert len(st.compact()) == 1 and len(segments(tmp_path)) == 2  # incremental: only the tail
    assert st.compact() == []
    assert load_columns(tmp_path, cols) == got


def test_columnar_snapshot_ignored_when_runs_jsonl_replaced(tmp_path):
    from harness.results.columnar import compact, load_columns, segments

    st = ResultStore(tmp_path)
    st.append_batch(*_real_like(range(3), "b0"))
    compact(tmp_path)
    assert len(segments(tmp_path)) == 1
    size = (tmp_path / "runs.jsonl").stat().st_size
    # replaced by a file as long as the old one (same range), different content: not critbench's
    line = json.dumps(_rec("x", hvps=1))
    (tmp_path / "runs.jsonl").write_text(line + " " * (size - len(line) - 2) + "\n\n")
    assert (tmp_path / "runs.jsonl").stat().st_size == size
    assert segments(tmp_path) == []
    assert load_columns(tmp_path, ["hvps"]) == []  # neither the stale snapshot nor the foreign line
    assert compact(tmp_path) == [] and not list((tmp_path / "columns").glob("part-*"))


def test_score_cli_same_with_or_without_snapshot(tmp_path, capsys):
    from harness.cli import main

    st = ResultStore(tmp_path)
    st.append_batch(*_real_like(range(7), "b0"))
    assert main(["score", str(tmp_path), "--json"]) == 0
    plain = capsys.readouterr().out
    st.compact()
    assert main(["score", str(tmp_path), "--json"]) == 0
    assert capsys.readouterr().out == plain and json.loads(plain)[0]["runs"] == 7


def test_compact_writes_bounded_segments(tmp_path, monkeypatch):
    import harness.results.columnar as columnar

    st = ResultStore(tmp_path)
    for b in range(6):
        st.append_batch(*_real_like(range(10 * b, 10 * b + 10), f"b{b}"))
    monkeypatch.setattr(columnar, "SEGMENT_BYTES", 1000)
    segs = columnar.compact(tmp_path)
    spans = [(s, e) for s, e, _ in columnar.segments(tmp_path)]
    assert len(segs) == len(spans) > 3
    line = max(len(x) for x in (tmp_path / "runs.jsonl").read_bytes().split(b"\n"))
    batch = max(e["end"] - e["start"] for e in _index_entries(tmp_path))
    assert all(e - s <= max(1000, batch) for s, e in spans)  # at most SEGMENT_BYTES, or one batch
    del line
    full = load_records(tmp_path)
    assert columnar.load_columns(tmp_path, ["hvps", "case_params"]) == [
        {"run_id": r["run_id"], "hvps": r["hvps"], "case_params": r["case_params"]} for r in full]
