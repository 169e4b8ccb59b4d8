"""The result store: atomic batches, torn lines, malformed files, no JAX import."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness.store import ResultStore, StoreError, StoreWarning, load_arrays, load_meta, load_records

ROOT = Path(__file__).resolve().parents[2]


def _rec(run_id, **fields):
    """A minimal valid run record (every required field of harness.records)."""
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
    (tmp_path / "runs.jsonl").write_text(_line("a") + "\n" + _line("b"))
    with pytest.warns(StoreWarning):
        assert [r["run_id"] for r in load_records(tmp_path)] == ["a"]


@pytest.mark.parametrize("bad", ['{"run_id": "b"', '[1, 2]', '{"no_id": 1}'])
def test_malformed_middle_line_raises(tmp_path, bad):
    (tmp_path / "runs.jsonl").write_text(_line("a") + "\n" + bad + "\n" + _line("c") + "\n")
    with pytest.raises(StoreError, match="line 2") as exc:
        load_records(tmp_path)
    assert "\n" not in str(exc.value)


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
        f"spec = importlib.util.spec_from_file_location('store', {str(ROOT / 'harness' / 'store.py')!r})\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "assert 'jax' not in sys.modules, 'store imported jax'\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "ok", out.stderr
    assert importlib.util.find_spec("harness.store") is not None
    json.dumps({})  # keep json import used
