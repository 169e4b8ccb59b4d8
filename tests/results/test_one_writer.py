"""The store is the judge's alone (issue 28): a record that another writer indexed for one of the
command's run ids stops the command, and ``store check`` verifies the arrays files against the index."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from harness.cli import main
from harness.results.store import ResultStore, StoreError, StoreWarning, load_arrays, load_records


def _rec(i: int, row: int) -> dict:
    return {"run_id": f"r{i}", "batch_id": "b", "batch_row": row, "case": "quartic", "case_key": "quartic-k",
            "solver": "s", "solver_key": "s-k", "seed": 0, "run_index": i, "status": "converged",
            "outcome": "critical"}


def _batch(ids: list[int], bid: str) -> tuple[list[dict], dict, str]:
    return [_rec(i, k) for k, i in enumerate(ids)], {"theta": np.arange(2.0 * len(ids)).reshape(len(ids), 2)}, bid


def _as_older_index(d: Path) -> Path:
    """Drop ``arrays_sha256`` from every line of ``d/runs.index`` (as an older critbench wrote it)."""
    index = d / "runs.index"
    entries = [json.loads(line) for line in index.read_text().splitlines()]
    assert all(len(e.pop("arrays_sha256")) == 64 for e in entries)
    index.write_text("".join(json.dumps(e) + "\n" for e in entries))
    return index


def _run(out: Path) -> int:
    return main(["run", "--case", "quartic", "--solver", "newton-mr", "--runs", "2", "--batch-size", "2",
                 "--max-iter", "50", "--out", str(out), "--quiet"])


def _run_stops_naming(out: Path, forged: list[str], capsys) -> None:
    """``critbench run`` into ``out`` exits 1 with one stderr line naming ``out`` and every forged run id."""
    capsys.readouterr()
    assert _run(out) == 1
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert len(forged) == 2 and all(i in lines[0] for i in forged) and str(out) in lines[0], lines[0]


# --------------------------------------------------------------------------- a second writer
def test_a_batch_forged_between_plan_and_append_stops_the_command_with_one_line_exit_1(tmp_path, monkeypatch,
                                                                                       capsys) -> None:
    """A hostile process stores, through the store's own code, records for the very run ids the
    command planned, just before the command stores its batch: one line naming them, exit 1."""
    out = tmp_path / "q"
    real = ResultStore.append_batch
    forged: list[str] = []

    def forge_then_append(self, records, arrays, batch_id):
        if not forged:  # another writer (its own ResultStore on the same directory) gets there first
            fake = [dict(r, outcome="critical", correct=True) for r in records]
            real(ResultStore(self.dir), fake, arrays, f"forged-{batch_id}")
            forged.extend(str(r["run_id"]) for r in records)
        return real(self, records, arrays, batch_id)

    monkeypatch.setattr(ResultStore, "append_batch", forge_then_append)
    _run_stops_naming(out, forged, capsys)


def test_a_batch_forged_between_opening_the_store_and_planning_stops_the_command(tmp_path, monkeypatch,
                                                                                capsys) -> None:
    """The same forgery earlier: after the command opened the store, before it planned (a plug-in's
    process runs while the planner asks it to describe itself).  Counting the forged records as
    already done would exit 0 with them as the results: one line naming them, exit 1."""
    out = tmp_path / "q"
    real = ResultStore.records_for
    forged: list[str] = []

    def forge_then_read(self, run_ids):
        if not forged:
            ids = sorted(run_ids)
            recs = [dict(_rec(k, k), run_id=i) for k, i in enumerate(ids)]
            ResultStore(self.dir).append_batch(recs, {"theta": np.zeros((len(ids), 1))}, "forged")
            forged.extend(ids)
        return real(self, run_ids)

    monkeypatch.setattr(ResultStore, "records_for", forge_then_read)
    _run_stops_naming(out, forged, capsys)


def test_a_store_refuses_run_ids_another_writer_indexed_since_it_was_opened(tmp_path) -> None:
    from harness.results.store import ForeignRecordsError

    judge = ResultStore(tmp_path)
    judge.append_batch(*_batch([0], "b0"))
    ResultStore(tmp_path).append_batch(*_batch([1, 2], "x1"))  # the other writer
    with pytest.raises(ForeignRecordsError, match="r1, r2") as info:
        judge.append_batch(*_batch([3, 1, 2], "b1"))
    assert info.value.run_ids == ("r1", "r2") and info.value.exit_status == 1
    assert not (tmp_path / "arrays" / "b1.npz").exists()  # nothing of the judge's batch stored
    # run ids the judge wrote itself, or found at open, are a plain StoreError (a caller's bug), not foreign
    with pytest.raises(StoreError) as own:
        judge.append_batch(*_batch([0], "b2"))
    assert not isinstance(own.value, ForeignRecordsError)
    with pytest.raises(StoreError) as at_open:
        ResultStore(tmp_path).append_batch(*_batch([1], "b3"))
    assert not isinstance(at_open.value, ForeignRecordsError)
    with pytest.raises(ForeignRecordsError, match="r1, r2"):  # nor does it resume from them
        judge.records_for(["r0", "r1", "r2", "r9"])
    assert [r["run_id"] for r in judge.records_for(["r0", "r9"])] == ["r0"]


# --------------------------------------------------------------------------- arrays files
def test_store_check_names_a_rewritten_theta_array(tmp_path, capsys) -> None:
    out = tmp_path / "q"
    assert _run(out) == 0
    (rec,) = {r["batch_id"]: r for r in load_records(out)}.values()
    bid = rec["batch_id"]
    assert main(["store", "check", str(out)]) == 0
    arrays = load_arrays(out, bid)
    arrays["theta"] = arrays["theta"] + 1.0  # a worker moves every stored iterate
    np.savez(out / "arrays" / f"{bid}.npz", **arrays)
    capsys.readouterr()
    assert main(["store", "check", str(out)]) == 1
    text = capsys.readouterr().out
    assert "arrays rewritten for 1 batch(es)" in text and bid in text, text



def test_the_report_leaves_out_a_rewritten_theta_array(tmp_path) -> None:
    """The report (and the snapshot cutoff analysis, through the same reader) never plots or scores
    arrays that no longer match their index hash: left out like a missing file, with a warning."""
    from harness.report._load import load_results

    out = tmp_path / "q"
    assert _run(out) == 0
    (bid,) = {r["batch_id"] for r in load_records(out)}
    assert bid in load_results(out).arrays
    arrays = load_arrays(out, bid)
    np.savez(out / "arrays" / f"{bid}.npz", **dict(arrays, theta=arrays["theta"] + 1.0))
    with pytest.warns(StoreWarning, match=f"rewritten after critbench stored them \\({bid}\\)"):
        data = load_results(out)
    assert bid not in data.arrays and len(data.records) == 2


def test_an_older_index_without_arrays_hashes_is_checked_without_error(tmp_path, capsys) -> None:
    st = ResultStore(tmp_path)
    st.append_batch(*_batch([0, 1], "b0"))
    index = _as_older_index(tmp_path)
    capsys.readouterr()
    assert main(["store", "check", str(tmp_path)]) == 0
    assert "1 batch(es): arrays not hashed (older store)" in capsys.readouterr().out
    assert main(["store", "reindex", str(tmp_path), "--trust"]) == 0  # on the user's word: hashed as they are now
    assert all(len(json.loads(line)["arrays_sha256"]) == 64 for line in index.read_text().splitlines())


def test_load_batch_arrays_leaves_out_or_refuses_a_rewritten_file(tmp_path) -> None:
    """What the reproduce experiments read (``strict``) raises on a rewritten arrays file; the report's
    reader leaves it out; a file an older critbench did not hash is read as it is."""
    from harness.results.store import load_batch_arrays

    st = ResultStore(tmp_path)
    st.append_batch(*_batch([0, 1], "b0"))
    st.append_batch(*_batch([2], "b1"))
    np.savez(tmp_path / "arrays" / "b0.npz", theta=np.ones((2, 2)))
    with pytest.raises(StoreError, match="b0.npz was rewritten after critbench stored it"):
        load_batch_arrays(tmp_path, ["b1", "b0"], strict=True)
    with pytest.warns(StoreWarning, match=r"left out the arrays of 1 batch\(es\) rewritten .* \(b0\)"):
        assert list(load_batch_arrays(tmp_path, ["b0", "b1", "nope"])) == ["b1"]
    _as_older_index(tmp_path)
    np.testing.assert_array_equal(load_batch_arrays(tmp_path, ["b0"], strict=True)["b0"]["theta"], np.ones((2, 2)))
