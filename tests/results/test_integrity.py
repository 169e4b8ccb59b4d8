"""A store that knows what it wrote (issue 20): hashed index, foreign and edited lines, missing arrays,
corrupt stores refused before appending, full disks, read-only stores, temporary files, one-way imports."""

from __future__ import annotations

import ast
import builtins
import errno
import hashlib
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

import harness.results.store as store_mod
from harness.cli import main
from harness.results.store import ResultStore, StoreError, StoreWarning, check_store, load_records

from ..report._synthetic import make_results

ROOT = Path(__file__).resolve().parents[2]


def _rec(run_id: str, **fields):
    rec = {"run_id": run_id, "batch_id": "b0", "batch_row": 0, "case": "quartic", "case_key": "quartic-k",
           "solver": "s", "solver_key": "s-k", "seed": 0, "run_index": 0, "status": "converged",
           "outcome": "critical"}
    return {**rec, **fields}


def _batch(ids, bid):
    return [_rec(f"r{i}", batch_row=k, run_index=i) for k, i in enumerate(ids)], {"theta": np.zeros((len(ids), 2))}, bid


def _snapshot(d: Path) -> dict[str, str]:
    """Every file under ``d`` with its SHA-256 (a directory's exact state)."""
    return {str(p.relative_to(d)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(d.rglob("*")) if p.is_file()}


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# --------------------------------------------------------------------------- a real run, copied per test
@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run") / "q"
    for runs in (2, 4):  # two batches: runs 0-1, then (resumed) 2-3
        assert main(["run", "--case", "quartic", "--solver", "newton-mr", "--runs", str(runs), "--batch-size", "2",
                     "--max-iter", "50", "--out", str(out), "--quiet"]) == 0
    assert len((out / "runs.index").read_text().splitlines()) == 2
    return out


@pytest.fixture
def res(run_dir: Path, tmp_path: Path) -> Path:
    d = tmp_path / "q"
    shutil.copytree(run_dir, d)
    return d


def _rerun(out: Path, runs: int = 6) -> int:
    return main(["run", "--case", "quartic", "--solver", "newton-mr", "--runs", str(runs), "--batch-size", "2",
                 "--max-iter", "50", "--out", str(out), "--quiet"])


# --------------------------------------------------------------------------- 1. lines critbench did not write
def test_forged_copies_with_flipped_verdicts_are_ignored_and_reported(res: Path, tmp_path: Path, capsys) -> None:
    recs = load_records(res)
    base = tmp_path / "base"
    shutil.copytree(res, base)
    with open(res / "runs.jsonl", "a") as fh:  # a plug-in appends schema-valid copies with the verdict flipped
        for r in recs:
            fh.write(json.dumps({**r, "run_id": r["run_id"] + "x", "outcome": "critical", "correct": True}) + "\n")
    assert main(["score", str(res), "--json"]) == 0
    cap = capsys.readouterr()
    assert json.loads(cap.out)[0]["runs"] == 4
    assert "ignored 4 lines in runs.jsonl not written by critbench (4 with no index entry)" in _one_line(cap.err)
    assert main(["compare", str(base), str(res)]) == 0
    cap = capsys.readouterr()
    assert "ignored 4 lines in runs.jsonl not written by critbench" in _one_line(cap.err)
    assert main(["report", str(res), "--out", str(tmp_path / "r.html")]) == 0
    cap = capsys.readouterr()
    assert "ignored 4 lines in runs.jsonl not written by critbench" in _one_line(cap.err)
    assert "4 runs from" in (tmp_path / "r.html").read_text()
    assert main(["store", "check", str(res)]) == 1
    assert "ignored 4 lines in runs.jsonl not written by critbench" in capsys.readouterr().out


def test_edited_middle_batch_is_ignored_by_score_and_stops_run_before_appending(res: Path, capsys) -> None:
    data = (res / "runs.jsonl").read_bytes()
    first = data.index(b"\n")
    edited = data[:first].replace(b'"seed": 0', b'"seed": 9')
    assert edited != data[:first]
    (res / "runs.jsonl").write_bytes(edited + data[first:])  # a corrupt/edited line in the first batch
    before = _snapshot(res)
    assert main(["score", str(res), "--json"]) == 0
    cap = capsys.readouterr()
    assert json.loads(cap.out)[0]["runs"] == 2  # only the intact batch counts
    assert "ignored 2 lines" in _one_line(cap.err) and "do not match their hash" in cap.err
    assert _rerun(res) == 2  # run: exit 2 before anything is appended or meta.json rewritten
    line = _one_line(capsys.readouterr().err)
    assert "do not match their hash" in line and "nothing is appended" in line
    assert _snapshot(res) == before


def test_garbage_middle_line_stops_run_with_exit_2(res: Path, capsys) -> None:
    data = (res / "runs.jsonl").read_bytes()
    first = data.index(b"\n") + 1
    (res / "runs.jsonl").write_bytes(data[:first] + b"{not json\n" + data[first:])  # today: exit 0 and appends
    before = _snapshot(res)
    assert _rerun(res) == 2
    assert "critbench: error:" in _one_line(capsys.readouterr().err)
    assert _snapshot(res) == before


def test_index_missing_is_not_rebuilt_implicitly(res: Path, capsys) -> None:
    (res / "runs.index").unlink()
    before = _snapshot(res)
    assert main(["score", str(res)]) == 2
    assert "--trust" in _one_line(capsys.readouterr().err)
    assert _rerun(res) == 2
    assert "no runs.index" in _one_line(capsys.readouterr().err)
    assert main(["store", "reindex", str(res)]) == 2  # the user must vouch
    assert "--trust" in _one_line(capsys.readouterr().err)
    assert _snapshot(res) == before
    assert main(["store", "reindex", str(res), "--trust"]) == 0
    capsys.readouterr()
    assert main(["store", "check", str(res)]) == 0
    assert "2 batches, 4 runs written by critbench" in capsys.readouterr().out


def test_legacy_index_without_hashes_is_read_unverified(tmp_path: Path) -> None:
    st = ResultStore(tmp_path)
    st.append_batch(*_batch([0, 1], "b0"))
    ents = [json.loads(x) for x in (tmp_path / "runs.index").read_text().splitlines()]
    (tmp_path / "runs.index").write_text("".join(json.dumps({k: v for k, v in e.items() if k != "sha256"}) + "\n"
                                                 for e in ents))
    with pytest.warns(StoreWarning, match="older critbench without content hashes: counted but unverified"):
        assert [r["run_id"] for r in load_records(tmp_path)] == ["r0", "r1"]
    st2 = ResultStore(tmp_path)  # and still appendable; new batches are sealed
    st2.append_batch(*_batch([2], "b1"))
    assert json.loads((tmp_path / "runs.index").read_text().splitlines()[-1])["sha256"]


def test_batch_cut_by_a_kill_after_its_index_entry_is_rolled_back(tmp_path: Path) -> None:
    st = ResultStore(tmp_path)
    st.append_batch(*_batch([0], "b0"))
    size = (tmp_path / "runs.jsonl").stat().st_size
    payload = b'{"run_id": "r1", "batch_id": "b1"}\n'
    entry = {"start": size, "end": size + len(payload), "batch_id": "b1", "run_ids": ["r1"],
             "sha256": hashlib.sha256(payload).hexdigest()}
    with open(tmp_path / "runs.index", "a") as fh:  # step 2 done, step 3 cut after a few bytes
        fh.write(json.dumps(entry) + "\n")
    with open(tmp_path / "runs.jsonl", "ab") as fh:
        fh.write(payload[:10])
    assert check_store(tmp_path).notes() == ["skipped 1 batch(es) whose write has not finished (b1)"]
    with pytest.warns(StoreWarning, match="rolled back batch 'b1'"):
        st2 = ResultStore(tmp_path)
    assert (tmp_path / "runs.jsonl").stat().st_size == size and st2.batch_ids() == {"b0"}
    st2.append_batch(*_batch([1], "b1"))
    assert [r["run_id"] for r in load_records(tmp_path)] == ["r0", "r1"] and check_store(tmp_path).notes() == []


# --------------------------------------------------------------------------- 2. missing arrays
def test_missing_arrays_are_named_by_score_report_compare_and_resume(res: Path, tmp_path: Path, capsys) -> None:
    bid = load_records(res)[0]["batch_id"]
    (res / "arrays" / f"{bid}.npz").unlink()
    assert main(["score", str(res), "--json"]) == 0
    cap = capsys.readouterr()
    assert json.loads(cap.out)[0]["runs"] == 4  # the JSONL fields are still scored
    assert f"arrays missing for 1 batch(es): arrays/{bid}.npz" in _one_line(cap.err)
    assert main(["report", str(res), "--out", str(tmp_path / "r.html")]) == 0
    assert f"arrays/{bid}.npz" in _one_line(capsys.readouterr().err)
    assert main(["compare", str(res), str(res)]) == 0
    err = capsys.readouterr().err
    assert err.count(f"arrays/{bid}.npz") == 2 and len(err.strip().splitlines()) == 2
    before = _snapshot(res)
    assert _rerun(res) == 2  # resume refuses: these runs would stay without arrays
    line = _one_line(capsys.readouterr().err)
    assert f"arrays/{bid}.npz" in line and "lost their arrays" in line
    assert _snapshot(res) == before


# --------------------------------------------------------------------------- 4. temp files and meta.json
def test_stale_temp_files_of_dead_processes_are_swept_on_open(tmp_path: Path) -> None:
    ResultStore(tmp_path).append_batch(*_batch([0], "b0"))
    old = time.time() - 3600
    dead = tmp_path / "arrays" / ".tmp-999999999-1-b9.npz"  # no such pid
    alive = tmp_path / f".tmp-{os.getpid()}-1-meta.json"  # this process: maybe still writing it
    legacy = tmp_path / "arrays" / ".tmp-b8-123-4.npz"  # an older critbench's name (no pid to check): by age
    for p in (dead, alive, legacy):
        p.write_bytes(b"x")
        os.utime(p, (old, old))
    fresh = tmp_path / ".tmp-999999998-1-runs.index"
    fresh.write_bytes(b"x")  # newer than this process: another writer's, left alone
    os.utime(fresh, (time.time() + 60, time.time() + 60))
    ResultStore(tmp_path)
    assert not dead.exists() and alive.exists() and fresh.exists()
    assert not legacy.exists()


def test_failed_meta_write_leaves_meta_and_no_temp_file(tmp_path: Path, monkeypatch) -> None:
    st = ResultStore(tmp_path)
    st.write_meta(command=["a"])
    before = (tmp_path / "meta.json").read_bytes()

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store_mod.os, "replace", full)
    with pytest.raises(StoreError, match="no space left on device while writing meta.json.*meta.json was left as it was"):
        st.write_meta(command=["b"])
    assert (tmp_path / "meta.json").read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


# --------------------------------------------------------------------------- 6. a full disk
@pytest.mark.parametrize("fail_on", ["arrays", "runs.index", "runs.jsonl"])
def test_full_disk_during_append_stores_nothing_of_the_batch(tmp_path: Path, monkeypatch, fail_on: str) -> None:
    st = ResultStore(tmp_path)
    st.append_batch(*_batch([0, 1], "b0"))
    before = _snapshot(tmp_path)
    real_fsync = os.fsync

    def fsync(fd: int) -> None:  # the write went to the page cache; the flush to disk finds it full
        name = os.readlink(f"/proc/self/fd/{fd}")
        if (fail_on == "arrays" and ".tmp-" in name) or name.endswith("/" + fail_on):
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(store_mod.os, "fsync", fsync)
    with pytest.raises(StoreError) as exc:
        st.append_batch(*_batch([2, 3], "b1"))
    assert str(exc.value) == (f"no space left on device while storing batch b1 in {str(tmp_path)!r}; nothing of this "
                              "batch was stored; free space and rerun to resume")
    assert _snapshot(tmp_path) == before  # runs.jsonl cut back, index untouched, no tmp or arrays file
    monkeypatch.setattr(store_mod.os, "fsync", real_fsync)
    st.append_batch(*_batch([2, 3], "b1"))  # space freed: the rerun stores it
    assert [r["run_id"] for r in load_records(tmp_path)] == ["r0", "r1", "r2", "r3"]


def test_full_disk_during_run_is_one_line_exit_2(res: Path, monkeypatch, capsys) -> None:
    real_fsync = os.fsync
    before = _snapshot(res)  # meta.json included: a command that fails leaves it as it was

    def fsync(fd: int) -> None:
        if os.readlink(f"/proc/self/fd/{fd}").endswith("/runs.jsonl"):
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(store_mod.os, "fsync", fsync)
    assert _rerun(res) == 2
    line = _one_line(capsys.readouterr().err)
    assert "no space left on device while storing batch" in line and "free space and rerun to resume" in line
    assert _snapshot(res) == before


# --------------------------------------------------------------------------- 5. read-only stores
def test_score_report_compare_leave_the_results_directory_byte_identical(tmp_path: Path, capsys,
                                                                          monkeypatch) -> None:
    root = make_results(tmp_path / "res")
    before = _snapshot(root)
    monkeypatch.chdir(tmp_path)
    assert main(["score", str(root)]) == 0
    assert main(["report", str(root)]) == 0  # default output: results/reports/<DIR name>.html, outside DIR
    assert (tmp_path / "results" / "reports" / "res.html").stat().st_size > 10_000
    assert main(["compare", str(root), str(root)]) == 0
    assert _snapshot(root) == before and not (root / "cutoff_analysis.json").exists()
    assert "warning" not in capsys.readouterr().err
    assert main(["report", str(root), "--out", str(tmp_path / "x.html"), "--save-cutoffs"]) == 0
    assert (root / "cutoff_analysis.json").exists()  # asked for


def _simulate_read_only(monkeypatch, root: Path) -> None:
    """Running as root, chmod does not stop writes: any write-mode open, replace, unlink, truncate or
    mkdir under ``root`` raises PermissionError, as on a read-only directory."""
    real_open, real_os_open = builtins.open, os.open

    def inside(p) -> bool:
        try:
            return Path(os.fspath(p)).resolve().is_relative_to(root.resolve())
        except TypeError:
            return False

    def deny(*a, **k):
        raise PermissionError(errno.EACCES, "Permission denied")

    def fake_open(file, mode="r", *a, **k):
        if inside(file) and any(c in mode for c in "wax+"):
            deny()
        return real_open(file, mode, *a, **k)

    def fake_os_open(path, flags, *a, **k):
        if inside(path) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND):
            deny()
        return real_os_open(path, flags, *a, **k)

    monkeypatch.setattr(builtins, "open", fake_open)
    monkeypatch.setattr(os, "open", fake_os_open)
    for name in ("replace", "rename", "unlink", "remove", "truncate", "mkdir"):
        real = getattr(os, name)
        monkeypatch.setattr(os, name, lambda p, *a, _real=real, **k: deny() if inside(p) else _real(p, *a, **k))


def test_simulated_read_only_store_is_scored_reported_compared_and_resume_is_one_line(
        res: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    before = _snapshot(res)
    _simulate_read_only(monkeypatch, res)
    assert main(["score", str(res)]) == 0
    assert main(["report", str(res), "--out", str(tmp_path / "r.html")]) == 0
    assert main(["compare", str(res), str(res)]) == 0
    assert "warning" not in capsys.readouterr().err
    assert _rerun(res) == 2
    line = _one_line(capsys.readouterr().err)
    assert "is not writable" in line and str(res) in line
    monkeypatch.undo()
    assert _snapshot(res) == before


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores chmod: see the simulated test")
def test_chmod_read_only_store_is_scored_and_resume_is_one_line(res: Path, tmp_path: Path, capsys) -> None:
    for p in [res, *res.rglob("*")]:
        p.chmod(p.stat().st_mode & ~0o222)
    try:
        assert main(["score", str(res)]) == 0
        assert main(["report", str(res), "--out", str(tmp_path / "r.html")]) == 0
        assert _rerun(res) == 2
        assert "is not writable" in _one_line(capsys.readouterr().err)
    finally:
        for p in [res, *res.rglob("*")]:
            p.chmod(p.stat().st_mode | 0o200)


# --------------------------------------------------------------------------- 7. one-way imports
def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def test_store_columnar_index_imports_are_one_way() -> None:
    d = ROOT / "harness" / "results"
    assert not {m for m in _imports(d / "columnar.py") if m.startswith("harness.results.store")}
    assert not {m for m in _imports(d / "index.py") if m.startswith(("harness.results.store", "harness.results.columnar"))}
    assert not hasattr(ResultStore, "used_batch_ids")


def test_a_foreign_append_during_a_store_never_hides_the_harness_batch(tmp_path: Path, monkeypatch) -> None:
    """A solver's process appending to runs.jsonl while the parent stores a batch (the race between
    reading the file's end and writing the payload) must not move the harness's bytes out of the
    range its index entry names: the batch stays counted, the foreign line stays ignored."""
    st = ResultStore(tmp_path)
    st.append_batch(*_batch([0, 1], "b0"))
    real = store_mod.sha256

    def sha_then_foreign_append(payload: bytes) -> str:  # runs after the end was read, before the payload is written
        with open(tmp_path / "runs.jsonl", "a") as fh:
            fh.write(json.dumps(_rec("forged", batch_row=0, run_index=9)) + "\n")
        return real(payload)

    monkeypatch.setattr(store_mod, "sha256", sha_then_foreign_append)
    st.append_batch(*_batch([2, 3], "b1"))
    monkeypatch.setattr(store_mod, "sha256", real)
    assert [r["run_id"] for r in load_records(tmp_path)] == ["r0", "r1", "r2", "r3"]
    chk = check_store(tmp_path)
    assert chk.mismatched_lines == 0 and chk.unindexed_lines == 0  # the foreign bytes were overwritten in place
