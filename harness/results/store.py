"""The result store: append-only JSONL run records, an index that vouches for them, per-batch array files.

A result directory ``DIR/`` (``docs/design.md``, "Run records"; ``docs/store.md``) holds

* ``DIR/runs.jsonl`` -- one JSON object per finished run;
* ``DIR/runs.index`` -- one line per stored batch: its byte range in ``runs.jsonl``
  and the SHA-256 of those bytes (:mod:`harness.results.index`).  Only lines inside
  an indexed range whose hash matches are counted as results;
* ``DIR/arrays/<batch_id>.npz`` -- the batch's arrays (``theta0``, ``theta``,
  ``snapshots``, ``snapshot_iter``, ``max_r_theta``/``max_r_iter``/``max_r_value`` and every
  trace field), row ``batch_row`` of
  each array belonging to the record with that ``batch_row``; its SHA-256 is in the
  batch's index entry (``arrays_sha256``);
* ``DIR/meta.json`` -- command, provenance and the critbench version.

Storing one batch (:meth:`ResultStore.append_batch`), crash- and failure-safe:

1. the arrays go to a temporary file, ``fsync``, ``os.replace`` into place;
2. under the file lock, the batch's index entry (range + hash) is appended and ``fsync``-ed;
3. all of the batch's JSONL lines are appended with one ``write`` + ``fsync``.

A kill between 2 and 3 leaves an entry ending beyond the file: readers skip it
and the next writer rolls it back.  Any ``OSError`` in 1-3 (a full disk, a
read-only directory) rolls back everything of the batch -- ``runs.jsonl`` cut to
its previous end, the index entry removed, temporary and array files deleted --
and raises a one-line :class:`StoreError`.

Opening a store for appending (:class:`ResultStore`) validates it first: the
directory must be writable, every indexed range must match its hash, and every
indexed batch must have its arrays file.  Otherwise :class:`StoreError`, before
anything (``meta.json`` included) is written.  Stale temporary files of dead
processes are swept.

One writer per run id: a :class:`ResultStore` remembers the run ids indexed when it
was opened and those it stored itself.  If a batch it is asked to store, or the
records it is asked to read for resuming (:meth:`ResultStore.records_for`, what the
planner uses), name a run id that some other writer indexed in between (a solver's
process appending through this code, a second command), it raises
:class:`ForeignRecordsError` naming them, instead of counting them or leaving the
first writer's records to stand for the command's runs.

The resume key is ``run_id``.  This module imports only the standard library,
NumPy and :mod:`harness.results.columnar` (never JAX), so reports can read
results without a solver stack.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import threading
import time
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from harness.results import columnar
from harness.results.index import (
    ARRAYS_DIR,
    CUTOFF_FILE,
    INDEX_FILE,
    META_FILE,
    RUNS_FILE,
    ForeignRecordsError,
    IndexEntry,
    StoreCheck,
    StoreError,
    StoreWarning,
    check_batch_id,
    check_store,
    file_sha256,
    missing_arrays,
    parse_record,
    read_index,
    runs_file,
    sha256,
    verify,
)
from harness.results.records import check_record

__all__ = ["ARRAYS_DIR", "CUTOFF_FILE", "INDEX_FILE", "META_FILE", "RUNS_FILE", "ForeignRecordsError", "ResultStore", "StoreCheck",
           "StoreError", "StoreWarning", "as_stored", "check_result_dir", "check_store", "json_default", "load_arrays",
           "load_batch_arrays", "load_meta", "load_records", "parse_record", "reindex"]

try:  # POSIX advisory lock so two writers never interleave a batch.
    import fcntl as _fcntl
except ImportError:  # pragma: no cover - non-POSIX
    _fcntl = None  # type: ignore[assignment]

_check_batch_id = check_batch_id  # old private name


def _process_start() -> float:
    """This process's start time (epoch seconds); module import time where /proc is absent."""
    try:
        return os.stat(f"/proc/{os.getpid()}").st_ctime
    except OSError:
        return time.time()


_STARTED = _process_start()


def _jsonable(value: Any) -> Any:
    """Convert NumPy scalars/arrays and non-finite floats into strict JSON values."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None if np.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def as_stored(record: Mapping[str, Any]) -> dict[str, Any]:
    """``record`` exactly as :func:`load_records` will return it after a store
    (NaN -> None, infinities -> ``"inf"``/``"-inf"``, NumPy -> plain JSON)."""
    return json.loads(json.dumps(_jsonable(record), allow_nan=False))


def json_default(v: Any) -> Any:
    """``json.dumps(default=...)`` hook: NumPy scalars/arrays, tuples and sets as
    plain JSON values; anything else by its ``repr``."""
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, (tuple, set, np.ndarray)):
        return list(v) if not isinstance(v, np.ndarray) else v.tolist()
    return repr(v)


def _fsync_dir(path: Path) -> None:
    """Best-effort fsync of a directory entry (makes a rename durable)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _tmp_name(what: str) -> str:
    """A temporary file name ``.tmp-<pid>-<thread>-<what>`` (swept once its process is gone)."""
    return f".tmp-{os.getpid()}-{threading.get_ident()}-{what}"


def _unlink(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def sweep_stale_tmp(directory: str | os.PathLike[str]) -> list[Path]:
    """Delete ``.tmp-*`` files in ``DIR``, ``DIR/arrays`` and ``DIR/columns`` that are older than this
    process and whose writing process (the pid in the name) is gone; the paths deleted."""
    root = Path(directory)
    gone = []
    for d in (root, root / ARRAYS_DIR, root / columnar.COLUMNS_DIR):
        try:
            names = [p for p in d.iterdir() if p.name.startswith(".tmp-")]
        except OSError:
            continue
        for p in names:
            try:
                if p.stat().st_mtime >= _STARTED:
                    continue
            except OSError:
                continue
            pid = p.name.split("-")[1] if p.name.count("-") >= 2 else ""
            if pid.isdigit() and _pid_alive(int(pid)):
                continue
            with contextlib.suppress(OSError):
                p.unlink()
                gone.append(p)
    return gone


def _os_error(exc: OSError, doing: str, directory: Path, lost: str = "nothing of it was written") -> StoreError:
    """A one-line :class:`StoreError` for an ``OSError`` while ``doing`` (``lost``: what was kept/dropped)."""
    if exc.errno == errno.ENOSPC:
        return StoreError(f"no space left on device while {doing} in {str(directory)!r}; {lost}; "
                          "free space and rerun to resume")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return StoreError(f"result directory {str(directory)!r} is not writable ({exc.strerror}) while {doing}; "
                          "score, report and compare read it without writing")
    return StoreError(f"cannot write to {str(directory)!r} while {doing}: {exc.strerror or exc}")


class _Index:
    """The in-memory index of a store opened for appending: verified entries, run and batch ids."""

    def __init__(self) -> None:
        self.entries: list[IndexEntry] = []
        self.run_ids: set[str] = set()
        self.batches: set[str] = set()
        self.span_of: dict[str, IndexEntry] = {}
        self.index_len = 0  # bytes of runs.index consumed
        self.end = 0  # end of the last indexed batch in runs.jsonl

    def note(self, e: IndexEntry) -> None:
        self.entries.append(e)
        self.end = max(self.end, e.end)
        self.batches.add(e.batch_id)
        for i in e.run_ids:
            if i not in self.run_ids:  # a duplicate keeps the first record (as load_records)
                self.run_ids.add(i)
                self.span_of[i] = e


class ResultStore:
    """One result directory, opened for appending (created if absent) and validated.

    Args:
        directory: the result directory ``DIR``.
        create: create ``DIR`` (and ``DIR/arrays``) if missing; otherwise a
            missing directory raises :class:`StoreError`.

    Raises:
        StoreError: ``DIR`` is not writable; ``runs.jsonl`` has lines but no
            ``runs.index``; an indexed range does not match its hash (the store
            was edited); or an indexed batch's arrays file is missing.  Nothing
            is written then.
    """

    def __init__(self, directory: str | os.PathLike[str], *, create: bool = True) -> None:
        self.dir = Path(directory)
        if create:
            try:
                (self.dir / ARRAYS_DIR).mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create result directory {str(self.dir)!r}: {exc.strerror}") from None
        elif not self.dir.is_dir():
            raise StoreError(f"result directory {str(self.dir)!r} does not exist")
        self._lock = threading.RLock()  # threads of one process; the file lock serialises processes
        self._idx = _Index()
        with self._lock, self._locked():
            self._validate()
        self._own = set(self._idx.run_ids)  # indexed at open, or stored by this object: not a foreign writer's
        sweep_stale_tmp(self.dir)

    @property
    def runs_path(self) -> Path:
        return self.dir / RUNS_FILE

    @property
    def index_path(self) -> Path:
        return self.dir / INDEX_FILE

    @contextlib.contextmanager
    def _locked(self) -> Iterator[Any]:
        try:
            fh = open(self.runs_path, "a+b")
        except OSError as exc:
            raise _os_error(exc, f"opening {RUNS_FILE} for appending", self.dir) from None
        with fh:
            if _fcntl is not None:
                _fcntl.flock(fh.fileno(), _fcntl.LOCK_EX)
            try:
                yield fh
            finally:
                if _fcntl is not None:
                    _fcntl.flock(fh.fileno(), _fcntl.LOCK_UN)

    # ------------------------------------------------------------------ validation
    def _validate(self) -> None:
        """Load and check the whole index (under the lock): see the class docstring."""
        self._idx = _Index()
        if not self.index_path.exists() and self.runs_path.stat().st_size and verify(self.runs_path, []).unindexed_lines:
            raise StoreError(f"{self.runs_path} has lines but there is no {INDEX_FILE}: critbench counts only lines "
                             "it indexed; run `critbench store reindex DIR --trust` if you vouch for every line")
        self._catch_up()
        missing = missing_arrays(self.dir, self._idx.batches)
        if missing:
            names = ", ".join(f"{ARRAYS_DIR}/{b}.npz" for b in missing[:3]) + (" ..." if len(missing) > 3 else "")
            raise StoreError(f"{len(missing)} stored batch(es) of {str(self.dir)!r} lost their arrays file ({names}); "
                             "restore them, or write to a new result directory (resuming would leave runs without arrays)")

    def _catch_up(self) -> None:
        """Read index entries added since the last call (other writers), verify them against
        ``runs.jsonl``, roll back a batch whose write was cut by a kill."""
        try:
            size = self.index_path.stat().st_size
        except FileNotFoundError:
            size = 0
        if size < self._idx.index_len:  # rewritten behind our back (reindex): start over
            self._idx = _Index()
        entries, consumed, bad = read_index(self.index_path, self._idx.index_len)
        if bad:
            raise StoreError(f"{self.index_path} has {bad} malformed line(s): the index was edited; "
                             "run `critbench store reindex DIR --trust` if you vouch for every line of runs.jsonl")
        if consumed < size:  # a torn entry (kill mid-write): its batch never reached runs.jsonl
            self._truncate(self.index_path, consumed)
        chk = verify(self.runs_path, entries, gaps=False)  # O(new entries' bytes)
        if chk.incomplete:
            last = max(entries, key=lambda e: e.end)
            if chk.incomplete != [last] or self.runs_path.stat().st_size < last.start or any(e.end > last.start for e in chk.verified if e is not last):
                raise StoreError(f"{self.index_path} lists batches beyond the end of {RUNS_FILE}: the store was "
                                 "truncated or edited")
            warnings.warn(f"rolled back batch {last.batch_id!r}, whose write was cut off", StoreWarning, stacklevel=3)
            self._truncate(self.runs_path, last.start)
            self._drop_last_index_line(consumed)
            entries = [e for e in entries if e is not last]
            consumed = self.index_path.stat().st_size
        if chk.mismatched:
            e = chk.mismatched[0]
            raise StoreError(f"{RUNS_FILE} bytes {e.start}-{e.end} (batch {e.batch_id!r}) do not match their hash in "
                             f"{INDEX_FILE}: the store was edited after critbench wrote it; nothing is appended "
                             "(inspect it; `critbench store reindex DIR --trust` accepts every line as it is)")
        for e in sorted(entries, key=lambda e: e.start):
            self._idx.note(e)
        self._idx.index_len = consumed

    def _truncate(self, path: Path, size: int) -> None:
        try:
            with open(path, "r+b") as fh:
                fh.truncate(size)
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            raise _os_error(exc, f"repairing {path.name}", self.dir) from None

    def _drop_last_index_line(self, consumed: int) -> None:
        data = self.index_path.read_bytes()[:consumed]
        cut = data[:-1].rfind(b"\n") + 1
        self._truncate(self.index_path, cut)

    # ------------------------------------------------------------------ appending
    def append_batch(
        self, records: Sequence[Mapping[str, Any]], arrays: Mapping[str, np.ndarray], batch_id: str
    ) -> None:
        """Store one batch atomically: arrays first (temp file + ``os.replace``),
        then the index entry (range + SHA-256), then all JSONL lines in one
        ``write`` + ``fsync``.  Costs O(batch): duplicates are checked against the
        in-memory index (caught up under the lock with what other writers added).

        On any ``OSError`` nothing of the batch remains (``runs.jsonl`` and the
        index cut back, temporary and array files removed).

        Raises:
            ForeignRecordsError: a ``run_id`` of the batch was indexed by another writer
                since this store was opened (nothing of the batch stored).
            StoreError: a bad ``batch_id``, a record without ``run_id`` or not
                valid (:func:`harness.results.records.check_record`), a ``run_id``
                repeated in the batch or already in the store; a full disk or an
                unwritable directory (one line, nothing of the batch stored).
        """
        check_batch_id(batch_id)
        lines = []
        ids: list[str] = []
        for rec in records:
            if "run_id" not in rec:
                raise StoreError("every record needs a 'run_id'")
            ids.append(str(rec["run_id"]))
            obj = _jsonable(dict(rec, batch_id=batch_id))
            why = check_record(obj)
            if why is not None:
                raise StoreError(f"record {rec['run_id']!r} is not a valid run record: {why}")
            lines.append(json.dumps(obj, allow_nan=False, sort_keys=False))
        if len(set(ids)) != len(ids):
            raise StoreError(f"a batch repeats a run_id ({batch_id!r})")
        payload = ("\n".join(lines) + "\n").encode("utf-8") if lines else b""
        with self._lock, self._locked() as fh:
            self._catch_up()
            dup = [i for i in ids if i in self._idx.run_ids]
            foreign = [i for i in dup if i not in self._own]
            if foreign:
                raise ForeignRecordsError(foreign, self.dir)
            if dup:
                raise StoreError(f"run_id {dup[0]!r} is already stored in {str(self.dir)!r}")
            if batch_id in self._idx.batches:
                raise StoreError(f"batch_id {batch_id!r} is already stored in {str(self.dir)!r}")
            self._write(fh, payload, arrays, batch_id, ids)

    def _write(self, fh: Any, payload: bytes, arrays: Mapping[str, np.ndarray], batch_id: str,
               ids: Sequence[str]) -> None:
        arr_dir = self.dir / ARRAYS_DIR
        final = arr_dir / f"{batch_id}.npz"
        tmp = arr_dir / _tmp_name(f"{batch_id}.npz")
        runs_end = index_end = None
        try:
            arr_dir.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as afh:
                np.savez(afh, **{k: np.asarray(v) for k, v in arrays.items()})
                afh.flush()
                os.fsync(afh.fileno())
            arrays_hash = file_sha256(tmp)
            os.replace(tmp, final)
            _fsync_dir(arr_dir)
            if not payload:
                return
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            last_end = self._idx.end
            if size > last_end:  # bytes critbench did not write: keep complete lines (ignored), cut a torn one
                fh.seek(last_end)
                extra = fh.read(size - last_end)
                keep = last_end + extra.rfind(b"\n") + 1
                if keep < size:
                    warnings.warn(f"cut a torn trailing line ({size - keep} bytes) from {RUNS_FILE}",
                                  StoreWarning, stacklevel=3)
                    fh.truncate(keep)
                    size = keep
            runs_end = size
            entry = IndexEntry(size, size + len(payload), batch_id, tuple(ids), sha256(payload), arrays_hash)
            index_end = self._idx.index_len
            with open(self.index_path, "ab") as ifh:
                ifh.write(entry.to_line())
                ifh.flush()
                os.fsync(ifh.fileno())
            # Not through ``fh`` (O_APPEND): the payload must land exactly in the byte range its index entry
            # names, even when a foreign writer (a solver's process) appended since ``size`` was read; its
            # bytes there are overwritten, and what it appends later lies outside every indexed range.
            with open(self.runs_path, "r+b") as wfh:
                wfh.seek(size)
                wfh.write(payload)
                wfh.flush()
                os.fsync(wfh.fileno())
        except OSError as exc:
            _unlink(tmp)
            _unlink(final)
            for path, end in ((self.runs_path, runs_end), (self.index_path, index_end)):
                if end is not None:
                    with contextlib.suppress(OSError), open(path, "r+b") as rfh:
                        rfh.truncate(end)
            raise _os_error(exc, f"storing batch {batch_id}", self.dir, "nothing of this batch was stored") from None
        finally:
            _unlink(tmp)
        self._idx.index_len += len(entry.to_line())
        self._idx.note(entry)
        self._own.update(ids)

    # ------------------------------------------------------------------ reading
    def finished_run_ids(self) -> set[str]:
        """The ``run_id`` of every stored, verified record (from the index)."""
        with self._lock, self._locked():
            self._catch_up()
            return set(self._idx.run_ids)

    def has_run(self, run_id: str) -> bool:
        """Whether ``run_id`` is stored (O(1) after the index is loaded)."""
        with self._lock:
            return str(run_id) in self._idx.run_ids

    def batch_ids(self) -> set[str]:
        """The ``batch_id`` of every stored batch (from the index)."""
        with self._lock, self._locked():
            self._catch_up()
            return set(self._idx.batches)

    def records_for(self, run_ids: Iterable[str]) -> list[dict[str, Any]]:
        """The stored records among ``run_ids`` (any order), reading only their batches;
        a batch whose bytes no longer match its hash is skipped.

        Raises:
            ForeignRecordsError: one of ``run_ids`` was indexed by another writer since this
                store was opened (what a command is about to resume from is the judge's own).
        """
        wanted = {str(i) for i in run_ids}
        if not wanted:
            return []
        with self._lock, self._locked():
            self._catch_up()
            foreign = sorted(i for i in wanted if i in self._idx.span_of and i not in self._own)
            if foreign:
                raise ForeignRecordsError(foreign, self.dir)
            spans = sorted({(e.start, e.end): e for i in wanted if (e := self._idx.span_of.get(i))}.values(),
                           key=lambda e: e.start)
        out: list[dict[str, Any]] = []
        with open(self.runs_path, "rb") as fh:
            for e in spans:
                fh.seek(e.start)
                body = fh.read(e.end - e.start)
                if e.sha256 is not None and sha256(body) != e.sha256:
                    warnings.warn(f"batch {e.batch_id!r} of {RUNS_FILE} no longer matches its hash: ignored",
                                  StoreWarning, stacklevel=2)
                    continue
                for raw in body.split(b"\n"):
                    if raw.strip():
                        rec = parse_record(raw, f"{self.runs_path} at byte {e.start}")
                        if str(rec["run_id"]) in wanted and self._idx.span_of.get(str(rec["run_id"])) is e:
                            out.append(rec)
        return out

    def compact(self) -> list[Path]:
        """Add the records not yet in the columnar snapshot as Parquet segments
        (:func:`harness.results.columnar.compact`; needs ``pyarrow``)."""
        with self._lock, self._locked():
            return columnar.compact(self.dir)

    def records(self) -> list[dict[str, Any]]:
        """All stored records (see :func:`load_records`)."""
        return load_records(self.dir)

    def write_meta(self, **fields: Any) -> Path:
        """Merge ``fields`` into ``meta.json`` (written atomically; on failure it is left as it was).

        Raises:
            StoreError: the directory is not writable or the disk is full.
        """
        meta = load_meta(self.dir) if (self.dir / META_FILE).exists() else {}
        meta.update(_jsonable(fields))
        tmp = self.dir / _tmp_name("meta.json")
        try:
            tmp.write_text(json.dumps(meta, indent=2, sort_keys=True), encoding="utf-8")
            os.replace(tmp, self.dir / META_FILE)
        except OSError as exc:
            raise _os_error(exc, f"writing {META_FILE}", self.dir, f"{META_FILE} was left as it was") from None
        finally:
            _unlink(tmp)
        return self.dir / META_FILE


def reindex(directory: str | os.PathLike[str], *, trust: bool = False) -> int:
    """Rebuild ``runs.index`` from every complete line of ``runs.jsonl`` (consecutive lines of
    one ``batch_id`` form a batch), sealing them with fresh hashes; the number of lines indexed.

    The arrays files present are hashed into the entries as they are now.
    This vouches for lines (and arrays) critbench may not have written, so it runs only with
    ``trust=True`` (``critbench store reindex DIR --trust``); it is never done implicitly.

    Raises:
        StoreError: without ``trust``; a missing directory or ``runs.jsonl``; an invalid line (named).
    """
    root = Path(directory)
    if not trust:
        raise StoreError("reindex counts every line of runs.jsonl as written by critbench, including any a solver or "
                         "someone else appended: pass --trust if you vouch for them")
    if not (root / RUNS_FILE).is_file():
        raise StoreError(f"no {RUNS_FILE} in {str(root)!r}: not a critbench result directory")
    data = (root / RUNS_FILE).read_bytes()
    data = data[: data.rfind(b"\n") + 1]
    groups: list[list[Any]] = []  # [start, end, batch_id, run_ids]
    pos = 0
    n = 0
    for no, raw in enumerate(data.split(b"\n")[:-1], start=1):
        start, pos = pos, pos + len(raw) + 1
        if not raw.strip():
            continue
        rec = parse_record(raw, f"{root / RUNS_FILE}: line {no}")
        bid = str(rec.get("batch_id"))
        n += 1
        if groups and groups[-1][2] == bid and groups[-1][1] == start:
            groups[-1][1] = pos
            groups[-1][3].append(str(rec["run_id"]))
        else:
            groups.append([start, pos, bid, [str(rec["run_id"])]])
    tmp = root / _tmp_name(INDEX_FILE)
    try:
        with open(tmp, "wb") as fh:
            for s, e, b, ids in groups:
                npz = root / ARRAYS_DIR / f"{b}.npz"
                arrays_hash = file_sha256(npz) if npz.is_file() else None
                fh.write(IndexEntry(s, e, b, tuple(ids), sha256(data[s:e]), arrays_hash).to_line())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, root / INDEX_FILE)
    except OSError as exc:
        raise _os_error(exc, f"writing {INDEX_FILE}", root) from None
    finally:
        _unlink(tmp)
    return n


def read_records(
    directory: str | os.PathLike[str], *, validate: bool = True
) -> tuple[list[dict[str, Any]], StoreCheck]:
    """The records critbench wrote (indexed, hash-verified), in file order, and the :class:`StoreCheck`
    saying what was ignored.  Read-only.

    Raises:
        StoreError: ``DIR`` or its ``runs.jsonl`` is missing, it has lines but no
            ``runs.index``, or a verified line is not a valid run record (names the file and line).
    """
    path = runs_file(directory)
    root = path.parent
    data = path.read_bytes()
    index = root / INDEX_FILE
    entries, _, bad = read_index(index)
    chk = verify(path, entries, data=data)
    chk.bad_index_lines = bad
    if not index.exists() and chk.unindexed_lines:
        raise StoreError(f"{path} has {chk.unindexed_lines} lines but there is no {INDEX_FILE}: critbench counts "
                         "only lines it indexed; run `critbench store reindex DIR --trust` if you vouch for every line")
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    no = pos = 0  # line number of the line before `pos`
    for e in chk.verified:
        body = data[e.start:e.end]
        no += data.count(b"\n", pos, e.start)
        pos = e.end
        for raw in body.split(b"\n")[:-1]:
            no += 1
            if not raw.strip():
                continue
            obj = parse_record(raw, f"{path}: line {no}", validate=validate)
            rid = str(obj["run_id"])
            if rid in seen:
                continue
            seen.add(rid)
            out.append(obj)
    chk.missing_arrays = missing_arrays(root, (e.batch_id for e in chk.verified))
    return out, chk


def load_records(
    directory: str | os.PathLike[str], *, warn: bool = True, validate: bool = True
) -> list[dict[str, Any]]:
    """Every record critbench wrote into ``DIR/runs.jsonl``, in file order (:func:`read_records`).

    Lines outside the index or in a batch whose bytes do not match its hash are
    ignored; with ``warn`` each kind of problem (ignored lines, a torn trailing
    line, missing arrays files) is one :class:`StoreWarning`.  A duplicated
    ``run_id`` keeps the first record.  With ``validate`` (the default) every
    counted line is checked against the run-record schema
    (:func:`harness.results.records.check_record`).

    Raises:
        StoreError: as :func:`read_records`.
    """
    out, chk = read_records(directory, validate=validate)
    if warn:
        for note in chk.notes():
            warnings.warn(f"{directory}: {note}", StoreWarning, stacklevel=2)
    return out


def check_result_dir(directory: str | os.PathLike[str]) -> Path:
    """``directory`` if it is a readable result directory (``runs.jsonl`` and ``arrays/``).

    Raises:
        StoreError: it does not exist, or lacks ``runs.jsonl`` or ``arrays/``.
    """
    root = Path(directory)
    if not root.is_dir():
        raise StoreError(f"result directory {str(root)!r} does not exist")
    for name, ok in ((RUNS_FILE, (root / RUNS_FILE).is_file()), (ARRAYS_DIR + "/", (root / ARRAYS_DIR).is_dir())):
        if not ok:
            raise StoreError(f"no {name} in {str(root)!r}: not a critbench result directory")
    return root


def _read_arrays(path: Path, expected_sha256: str | None) -> dict[str, np.ndarray] | None:
    """The arrays in the ``.npz`` file ``path``; None if it does not have ``expected_sha256`` (when given).

    Raises:
        StoreError: the file cannot be read or is not an ``.npz`` of arrays.
    """
    try:
        data = path.read_bytes()
        if expected_sha256 is not None and sha256(data) != expected_sha256:
            return None
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            return {k: np.asarray(z[k]) for k in z.files}
    except (OSError, ValueError) as exc:
        raise StoreError(f"cannot read {path}: {exc}") from None


def load_arrays(directory: str | os.PathLike[str], batch_id: str, *,
                expected_sha256: str | None = None) -> dict[str, np.ndarray]:
    """The arrays of batch ``batch_id`` (``DIR/arrays/<batch_id>.npz``); with ``expected_sha256``
    only if the file still has that hash (its index entry's ``arrays_sha256``).

    Raises:
        StoreError: the file is missing or unreadable, or does not match ``expected_sha256``.
    """
    check_batch_id(batch_id)
    path = Path(directory) / ARRAYS_DIR / f"{batch_id}.npz"
    if not path.is_file():
        raise StoreError(f"no arrays for batch {batch_id!r} in {str(Path(directory))!r} ({ARRAYS_DIR}/{batch_id}.npz "
                         "is missing)")
    arrays = _read_arrays(path, expected_sha256)
    if arrays is None:
        raise StoreError(f"{path} was rewritten after critbench stored it (it no longer matches its hash in "
                         f"{INDEX_FILE})")
    return arrays


def load_batch_arrays(directory: str | os.PathLike[str], batch_ids: Iterable[str], *, warn: bool = True,
                      strict: bool = False) -> dict[str, dict[str, np.ndarray]]:
    """``batch_id -> arrays`` for each of ``batch_ids`` whose arrays file exists and still matches the
    ``arrays_sha256`` of its index entry (an entry without one, from an older critbench, is not checked).
    A rewritten file is left out, like a missing one; with ``warn``, one :class:`StoreWarning` names them.
    With ``strict``, a missing or rewritten file raises instead (:func:`load_arrays`).

    Raises:
        StoreError: a bad batch id; an arrays file that cannot be read; with ``strict``, one that is
            missing or rewritten.
    """
    root = Path(directory)
    hashes: dict[str, str | None] = {}
    for e in read_index(root / INDEX_FILE)[0]:
        hashes.setdefault(e.batch_id, e.arrays_sha256)  # the first entry of a batch id counts (as its records)
    out: dict[str, dict[str, np.ndarray]] = {}
    rewritten = []
    for bid in dict.fromkeys(str(b) for b in batch_ids):
        if strict:
            out[bid] = load_arrays(root, bid, expected_sha256=hashes.get(bid))
            continue
        path = root / ARRAYS_DIR / f"{check_batch_id(bid)}.npz"
        if not path.is_file():
            continue
        arrays = _read_arrays(path, hashes.get(bid))
        if arrays is None:
            rewritten.append(bid)
        else:
            out[bid] = arrays
    if rewritten and warn:
        warnings.warn(f"{directory}: left out the arrays of {len(rewritten)} batch(es) rewritten after critbench "
                      f"stored them ({', '.join(rewritten[:5])}{' ...' if len(rewritten) > 5 else ''})",
                      StoreWarning, stacklevel=2)
    return out


def load_meta(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """The parsed ``meta.json`` (empty dict if absent).

    Raises:
        StoreError: ``meta.json`` exists but is not a JSON object.
    """
    path = Path(directory) / META_FILE
    if not path.is_file():
        return {}
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise StoreError(f"{path} is not valid JSON") from None
    if not isinstance(meta, dict):
        raise StoreError(f"{path} is not a JSON object")
    return meta
