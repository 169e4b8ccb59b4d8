"""The result store: append-only JSONL run records plus per-batch array files.

A result directory ``DIR/`` (``docs/design.md``, "Run records") holds

* ``DIR/runs.jsonl`` -- one JSON object per finished run;
* ``DIR/arrays/<batch_id>.npz`` -- the batch's arrays (``theta0``, ``theta``,
  ``snapshots``, ``snapshot_iter`` and every trace field), row ``batch_row`` of
  each array belonging to the record with that ``batch_row``;
* ``DIR/meta.json`` -- command, provenance and the critbench version.

Crash safety (a ``SIGKILL`` at any moment loses at most the batch being
written and never duplicates a run):

1. the batch's arrays are written to a temporary file, flushed, ``fsync``-ed and
   moved into place with ``os.replace`` (atomic on POSIX) *before*
2. all of the batch's JSONL lines are appended with a single ``write`` followed
   by ``flush`` + ``fsync``.

Only newline-terminated lines count as records; a torn (unterminated) trailing
line is skipped with a warning on load and cut off before the next append.  A
record whose arrays are missing cannot occur (arrays go first); arrays without
records (killed between 1 and 2) are orphans that a rerun overwrites or ignores.

The resume key is ``run_id``.  This module imports only the standard library
and NumPy (never JAX), so reports can read results without a solver stack.

The run index (``DIR/runs.index``).  Appending must cost O(batch), not
O(store): a :class:`ResultStore` keeps the set of stored ``run_id`` and
``batch_id`` in memory, loaded once from ``runs.index`` -- an append-only JSONL
file with one entry per stored batch, ``{"start", "end", "batch_id",
"run_ids"}``, ``start``/``end`` being the batch's byte range in ``runs.jsonl``.
The index is derived data: after each batch is appended to ``runs.jsonl`` its
entry is appended to the index (a kill in between leaves the index behind,
which is detected and caught up).  On open, and under the lock before each
append, the index is checked against ``runs.jsonl``: the last indexed ``end``
must not exceed the file size and must fall just after a newline; if the file
grew (another writer, an older critbench) only the new bytes are parsed; if
the index is missing, torn in the middle or inconsistent, it is rebuilt from
``runs.jsonl``.  :meth:`ResultStore.records_for` reads only the byte ranges of
the batches holding the wanted runs.

Every stored line is turned into a record by one function,
:func:`parse_record` (the single per-record parse point).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from harness.results.records import check_record

RUNS_FILE = "runs.jsonl"
INDEX_FILE = "runs.index"
ARRAYS_DIR = "arrays"
META_FILE = "meta.json"
_BATCH_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+=-]*$")

try:  # POSIX advisory lock so two writers never interleave a batch.
    import fcntl as _fcntl
except ImportError:  # pragma: no cover - non-POSIX
    _fcntl = None  # type: ignore[assignment]


class StoreError(ValueError):
    """A missing or malformed result directory (one-line message)."""


class StoreWarning(UserWarning):
    """A recoverable problem on load (torn trailing line, duplicate run_id)."""


def _check_batch_id(batch_id: str) -> str:
    if not isinstance(batch_id, str) or not _BATCH_ID_RE.match(batch_id):
        raise StoreError(f"invalid batch_id {batch_id!r}: use letters, digits and . _ + = - only")
    return batch_id


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


class ResultStore:
    """One result directory, opened for appending (created if absent).

    Args:
        directory: the result directory ``DIR``.
        create: create ``DIR`` (and ``DIR/arrays``) if missing; otherwise a
            missing directory raises :class:`StoreError`.
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
        self._idx: _RunIndex | None = None
        self._lock = threading.RLock()  # threads of one process; the file lock serialises processes

    @property
    def runs_path(self) -> Path:
        return self.dir / RUNS_FILE

    @contextlib.contextmanager
    def _locked(self) -> Iterator[Any]:
        with open(self.runs_path, "a+b") as fh:
            if _fcntl is not None:
                _fcntl.flock(fh.fileno(), _fcntl.LOCK_EX)
            try:
                yield fh
            finally:
                if _fcntl is not None:
                    _fcntl.flock(fh.fileno(), _fcntl.LOCK_UN)

    @property
    def index_path(self) -> Path:
        return self.dir / INDEX_FILE

    # ------------------------------------------------------------------ index
    def _index(self) -> _RunIndex:
        """The in-memory index, loaded once and caught up with ``runs.jsonl``."""
        if self._idx is None:
            self._idx = _RunIndex.open(self.runs_path, self.index_path)
        else:
            self._idx.sync(self.runs_path, self.index_path)
        return self._idx

    def append_batch(
        self, records: Sequence[Mapping[str, Any]], arrays: Mapping[str, np.ndarray], batch_id: str
    ) -> None:
        """Store one batch atomically: arrays first (temp file + ``os.replace``),
        then all JSONL lines in one ``write`` + ``flush`` + ``fsync``, then the
        batch's index entry.  Costs O(batch): duplicates are checked against the
        in-memory index (caught up under the lock with what other writers added).

        Raises:
            StoreError: a bad ``batch_id``, a record without ``run_id`` or not
                valid (:func:`harness.results.records.check_record`), a ``run_id``
                repeated in the batch or already in the store.
        """
        _check_batch_id(batch_id)
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
        arr_dir = self.dir / ARRAYS_DIR
        arr_dir.mkdir(parents=True, exist_ok=True)
        final = arr_dir / f"{batch_id}.npz"
        tmp = arr_dir / f".tmp-{batch_id}-{os.getpid()}-{threading.get_ident()}.npz"
        with open(tmp, "wb") as fh:
            np.savez(fh, **{k: np.asarray(v) for k, v in arrays.items()})
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, final)
        _fsync_dir(arr_dir)
        if not lines:
            return
        payload = ("\n".join(lines) + "\n").encode("utf-8")
        with self._lock, self._locked() as fh:
            idx = self._index()
            dup = [i for i in ids if i in idx.run_ids]
            if dup:
                raise StoreError(f"run_id {dup[0]!r} is already stored in {str(self.dir)!r}")
            fh.seek(0, os.SEEK_END)
            if fh.tell() != idx.end:  # a torn trailing line: the index ends at the last newline
                warnings.warn(f"cut a torn trailing line ({fh.tell() - idx.end} bytes) from {RUNS_FILE}",
                              StoreWarning, stacklevel=2)
                fh.truncate(idx.end)
                fh.seek(idx.end)
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
            idx.add(self.index_path, idx.end, idx.end + len(payload), batch_id, ids)

    def finished_run_ids(self) -> set[str]:
        """The ``run_id`` of every stored (complete) record (from the index)."""
        if not self.runs_path.exists():
            return set()
        with self._lock:
            return set(self._index().run_ids)

    def has_run(self, run_id: str) -> bool:
        """Whether ``run_id`` is stored (O(1) after the index is loaded)."""
        if not self.runs_path.exists():
            return False
        with self._lock:
            return str(run_id) in self._index().run_ids

    def batch_ids(self) -> set[str]:
        """The ``batch_id`` of every stored batch (from the index)."""
        if not self.runs_path.exists():
            return set()
        with self._lock:
            return set(self._index().batches)

    def records_for(self, run_ids: Iterable[str]) -> list[dict[str, Any]]:
        """The stored records among ``run_ids`` (any order), reading only their batches."""
        wanted = {str(i) for i in run_ids}
        if not wanted or not self.runs_path.exists():
            return []
        with self._lock:
            idx = self._index()
            spans = sorted({idx.span_of[i] for i in wanted if i in idx.span_of})
        out: list[dict[str, Any]] = []
        with open(self.runs_path, "rb") as fh:
            for start, end in spans:
                fh.seek(start)
                for raw in fh.read(end - start).split(b"\n"):
                    if raw.strip():
                        rec = parse_record(raw, f"{self.runs_path} at byte {start}")
                        if str(rec["run_id"]) in wanted:
                            out.append(rec)
        return out

    def used_batch_ids(self) -> set[str]:
        """Same as :meth:`batch_ids` (every ``batch_id`` named by a stored line)."""
        return self.batch_ids()

    def compact(self) -> list[Path]:
        """Add the records not yet in the columnar snapshot as Parquet segments
        (:func:`harness.results.columnar.compact`; needs ``pyarrow``)."""
        from harness.results.columnar import compact

        with self._lock, self._locked():
            return compact(self.dir)

    def records(self) -> list[dict[str, Any]]:
        """All stored records (see :func:`load_records`)."""
        if not self.runs_path.exists():
            return []
        return load_records(self.dir)

    def write_meta(self, **fields: Any) -> Path:
        """Merge ``fields`` into ``meta.json`` (written atomically)."""
        meta = load_meta(self.dir) if (self.dir / META_FILE).exists() else {}
        meta.update(_jsonable(fields))
        tmp = self.dir / f".tmp-meta-{os.getpid()}.json"
        tmp.write_text(json.dumps(meta, indent=2, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.dir / META_FILE)
        return self.dir / META_FILE


def parse_record(raw: bytes, where: str, *, validate: bool = True) -> dict[str, Any]:
    """One stored line -> one record: the single per-record parse point of the store
    (with ``validate``, checked against the run-record schema, :func:`harness.results.records.check_record`).

    Raises:
        StoreError: the line is not JSON, not an object with a ``run_id``, or
            not a valid run record (the message names ``where``, e.g. the file and line).
    """
    try:
        obj = json.loads(raw.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise StoreError(f"{where} is not valid JSON (malformed result file)") from None
    if not isinstance(obj, dict) or "run_id" not in obj:
        raise StoreError(f"{where} is not a run record (needs a JSON object with 'run_id')")
    if validate and (why := check_record(obj)) is not None:
        raise StoreError(f"{where} is not a valid run record: {why}")
    return obj


class _RunIndex:
    """Stored ``run_id`` / ``batch_id`` sets and each run's batch byte range.

    ``end`` is the byte offset in ``runs.jsonl`` up to which every line is
    indexed (always just after a newline, or 0).
    """

    def __init__(self) -> None:
        self.run_ids: set[str] = set()
        self.batches: set[str] = set()
        self.span_of: dict[str, tuple[int, int]] = {}
        self.batch_of_span: dict[tuple[int, int], str] = {}
        self.end = 0

    def _note(self, start: int, end: int, batch_id: str, ids: Iterable[str]) -> None:
        span = (start, end)
        for i in ids:
            if i not in self.run_ids:  # a duplicate line keeps the first record (as load_records)
                self.run_ids.add(i)
                self.span_of[i] = span
        self.batches.add(batch_id)
        self.batch_of_span[span] = batch_id
        self.end = max(self.end, end)

    def add(self, index_path: Path, start: int, end: int, batch_id: str, ids: Sequence[str]) -> None:
        """Record a batch just appended at ``[start, end)`` (memory and index file)."""
        self._note(start, end, batch_id, ids)
        entry = json.dumps({"start": start, "end": end, "batch_id": batch_id, "run_ids": list(ids)})
        try:
            with open(index_path, "ab") as fh:
                fh.write(entry.encode("utf-8") + b"\n")
        except OSError:  # the index is derived data; a stale one is rebuilt on open
            pass

    @classmethod
    def open(cls, runs_path: Path, index_path: Path) -> _RunIndex:
        """Load ``runs.index`` and check it against ``runs.jsonl`` (rebuild if stale)."""
        idx = cls()
        size = runs_path.stat().st_size if runs_path.exists() else 0
        ok = idx._load(index_path) and idx.end <= size and (idx.end == 0 or _byte_at(runs_path, idx.end - 1) == b"\n")
        if not ok:
            idx = cls()
            idx._rewrite_index = True  # type: ignore[attr-defined]
        idx.sync(runs_path, index_path)
        return idx

    def _load(self, index_path: Path) -> bool:
        if not index_path.is_file():
            return False
        data = index_path.read_bytes()
        if not data:
            return True
        lines = data.split(b"\n")
        tail = lines.pop()
        try:
            for raw in lines:
                e = json.loads(raw)
                self._note(int(e["start"]), int(e["end"]), str(e["batch_id"]), [str(i) for i in e["run_ids"]])
        except (ValueError, KeyError, TypeError):
            return False
        if tail:  # a torn index entry: cut it; the batch is caught up from runs.jsonl
            with open(index_path, "r+b") as fh:
                fh.truncate(len(data) - len(tail))
        return True

    def sync(self, runs_path: Path, index_path: Path) -> None:
        """Index lines of ``runs.jsonl`` after ``end`` (O(new bytes)); rewrite a stale index."""
        rewrite = getattr(self, "_rewrite_index", False)
        size = runs_path.stat().st_size if runs_path.exists() else 0
        if size < self.end:  # runs.jsonl replaced or truncated behind our back: start over
            self.__init__()  # type: ignore[misc]
            rewrite = True
        entries: list[tuple[int, int, str, list[str]]] = []
        if size > self.end:
            with open(runs_path, "rb") as fh:
                fh.seek(self.end)
                data = fh.read(size - self.end)
            complete = data[: data.rfind(b"\n") + 1]
            pos = self.end
            for no, raw in enumerate(complete.split(b"\n")[:-1]):
                start, pos = pos, pos + len(raw) + 1
                if not raw.strip():
                    continue
                rec = _peek(raw)  # lenient: a foreign line never stops the harness storing its own runs
                if rec is None:
                    continue
                bid, rid = str(rec.get("batch_id")), str(rec["run_id"])
                if entries and entries[-1][2] == bid and entries[-1][1] == start:
                    s0, _, _, ids = entries[-1]
                    entries[-1] = (s0, pos, bid, ids + [rid])
                else:
                    entries.append((start, pos, bid, [rid]))
            for e in entries:
                self._note(*e)
            self.end = self.end if not complete else max(self.end, pos)
        if rewrite:
            self._rewrite(index_path)
            self._rewrite_index = False  # type: ignore[attr-defined]
        elif entries:
            try:
                with open(index_path, "ab") as fh:
                    fh.write(b"".join(json.dumps({"start": s0, "end": e0, "batch_id": b0, "run_ids": ids})
                                      .encode("utf-8") + b"\n" for s0, e0, b0, ids in entries))
            except OSError:
                pass

    def _rewrite(self, index_path: Path) -> None:
        by_span: dict[tuple[int, int], list[str]] = {}
        for rid, span in self.span_of.items():
            by_span.setdefault(span, []).append(rid)
        bids = self.batch_of_span
        tmp = index_path.with_name(f".tmp-{index_path.name}-{os.getpid()}-{threading.get_ident()}")
        try:
            with open(tmp, "wb") as fh:
                for span in sorted(by_span):
                    fh.write(json.dumps({"start": span[0], "end": span[1], "batch_id": bids.get(span, ""),
                                         "run_ids": by_span[span]}).encode("utf-8") + b"\n")
            os.replace(tmp, index_path)
        except OSError:
            pass


def _peek(raw: bytes) -> dict[str, Any] | None:
    """A line's object if it parses as one with a string ``run_id`` (else ``None``)."""
    try:
        obj = json.loads(raw.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return obj if isinstance(obj, dict) and isinstance(obj.get("run_id"), str) else None


def _byte_at(path: Path, offset: int) -> bytes:
    with open(path, "rb") as fh:
        fh.seek(offset)
        return fh.read(1)


def load_records(
    directory: str | os.PathLike[str], *, warn: bool = True, validate: bool = True
) -> list[dict[str, Any]]:
    """Read every complete record of ``DIR/runs.jsonl`` in file order.

    A torn trailing line (no final newline, e.g. after a kill mid-write) is
    skipped with a :class:`StoreWarning`; a duplicated ``run_id`` keeps the first
    record (warned).  Strings ``"inf"``/``"-inf"`` written for non-finite floats
    are returned as strings only in free-form fields; numeric fields are as stored.
    With ``validate`` (the default) every line is checked against the run-record
    schema (:func:`harness.results.records.check_record`).

    Raises:
        StoreError: ``DIR`` or its ``runs.jsonl`` is missing, or a complete line
            is not a JSON object or not a valid run record (names the file and line).
    """
    root = Path(directory)
    if not root.is_dir():
        raise StoreError(f"result directory {str(root)!r} does not exist")
    path = root / RUNS_FILE
    if not path.is_file():
        raise StoreError(f"no {RUNS_FILE} in {str(root)!r}: not a critbench result directory")
    data = path.read_bytes()
    lines = data.split(b"\n")
    tail = lines.pop()  # text after the last newline: empty, or a torn line
    if tail.strip() and warn:
        warnings.warn(f"{path}: skipped a torn trailing line ({len(tail)} bytes)", StoreWarning, stacklevel=2)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for no, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        obj = parse_record(raw, f"{path}: line {no}", validate=validate)
        rid = str(obj["run_id"])
        if rid in seen:
            if warn:
                warnings.warn(f"{path}: duplicate run_id {rid!r} on line {no} ignored", StoreWarning, stacklevel=2)
            continue
        seen.add(rid)
        out.append(obj)
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


def load_arrays(directory: str | os.PathLike[str], batch_id: str) -> dict[str, np.ndarray]:
    """The arrays of batch ``batch_id`` (``DIR/arrays/<batch_id>.npz``).

    Raises:
        StoreError: the file is missing or unreadable.
    """
    _check_batch_id(batch_id)
    path = Path(directory) / ARRAYS_DIR / f"{batch_id}.npz"
    if not path.is_file():
        raise StoreError(f"no arrays for batch {batch_id!r} in {str(Path(directory))!r}")
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: np.asarray(z[k]) for k in z.files}
    except (OSError, ValueError) as exc:
        raise StoreError(f"cannot read {path}: {exc}") from None


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
