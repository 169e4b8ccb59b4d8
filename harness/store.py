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
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from harness.records import check_record

RUNS_FILE = "runs.jsonl"
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

    def append_batch(
        self, records: Sequence[Mapping[str, Any]], arrays: Mapping[str, np.ndarray], batch_id: str
    ) -> None:
        """Store one batch atomically: arrays first (temp file + ``os.replace``),
        then all JSONL lines in one ``write`` + ``flush`` + ``fsync``.

        Raises:
            StoreError: a bad ``batch_id``, a record without ``run_id`` or not
                valid (:func:`harness.records.check_record`), or a ``run_id``
                already in the store.
        """
        _check_batch_id(batch_id)
        lines = []
        for rec in records:
            if "run_id" not in rec:
                raise StoreError("every record needs a 'run_id'")
            obj = _jsonable(dict(rec, batch_id=batch_id))
            why = check_record(obj)
            if why is not None:
                raise StoreError(f"record {rec['run_id']!r} is not a valid run record: {why}")
            lines.append(json.dumps(obj, allow_nan=False, sort_keys=False))
        arr_dir = self.dir / ARRAYS_DIR
        arr_dir.mkdir(parents=True, exist_ok=True)
        final = arr_dir / f"{batch_id}.npz"
        tmp = arr_dir / f".tmp-{batch_id}-{os.getpid()}.npz"
        with open(tmp, "wb") as fh:
            np.savez(fh, **{k: np.asarray(v) for k, v in arrays.items()})
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, final)
        _fsync_dir(arr_dir)
        if not lines:
            return
        payload = ("\n".join(lines) + "\n").encode("utf-8")
        with self._locked() as fh:
            existing = _stored_run_ids(fh)
            dup = [r["run_id"] for r in records if r["run_id"] in existing]
            if dup:
                raise StoreError(f"run_id {dup[0]!r} is already stored in {str(self.dir)!r}")
            _cut_torn_tail(fh)
            fh.seek(0, os.SEEK_END)
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())

    def finished_run_ids(self) -> set[str]:
        """The ``run_id`` of every stored (complete) record."""
        if not self.runs_path.exists():
            return set()
        return {str(r["run_id"]) for r in load_records(self.dir, warn=False) if "run_id" in r}

    def used_batch_ids(self) -> set[str]:
        """Every ``batch_id`` named by a stored line (leniently parsed, see :func:`_stored_values`)."""
        if not self.runs_path.exists():
            return set()
        return _stored_values(self.runs_path.read_bytes(), "batch_id")

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


def _stored_values(data: bytes, key: str) -> set[str]:
    """The string ``key`` of every complete line that parses as an object with one.

    Lenient on purpose: a line that is not a valid record (e.g. written into
    the directory by something other than the store) must not stop the
    harness from storing its own results; :func:`load_records` reports it.
    """
    out: set[str] = set()
    for raw in data.split(b"\n")[:-1]:
        try:
            obj = json.loads(raw.decode("utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
        if isinstance(obj, dict) and isinstance(obj.get(key), str):
            out.add(obj[key])
    return out


def _stored_run_ids(fh: Any) -> set[str]:
    fh.seek(0)
    return _stored_values(fh.read(), "run_id")


def _cut_torn_tail(fh: Any) -> None:
    """Truncate an unterminated last line (a torn write) so appends start clean."""
    fh.seek(0, os.SEEK_END)
    size = fh.tell()
    if size == 0:
        return
    fh.seek(size - 1)
    if fh.read(1) == b"\n":
        return
    fh.seek(0)
    data = fh.read()
    keep = data.rfind(b"\n") + 1
    fh.truncate(keep)
    warnings.warn(f"cut a torn trailing line ({size - keep} bytes) from {RUNS_FILE}", StoreWarning, stacklevel=3)


def load_records(
    directory: str | os.PathLike[str], *, warn: bool = True, validate: bool = True
) -> list[dict[str, Any]]:
    """Read every complete record of ``DIR/runs.jsonl`` in file order.

    A torn trailing line (no final newline, e.g. after a kill mid-write) is
    skipped with a :class:`StoreWarning`; a duplicated ``run_id`` keeps the first
    record (warned).  Strings ``"inf"``/``"-inf"`` written for non-finite floats
    are returned as strings only in free-form fields; numeric fields are as stored.
    With ``validate`` (the default) every line is checked against the run-record
    schema (:func:`harness.records.check_record`).

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
        try:
            obj = json.loads(raw.decode("utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise StoreError(f"{path}: line {no} is not valid JSON (malformed result file)") from None
        if not isinstance(obj, dict) or "run_id" not in obj:
            raise StoreError(f"{path}: line {no} is not a run record (needs a JSON object with 'run_id')")
        if validate and (why := check_record(obj)) is not None:
            raise StoreError(f"{path}: line {no} is not a valid run record: {why}")
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
