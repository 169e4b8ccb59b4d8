"""The run index: which bytes of ``runs.jsonl`` critbench wrote, and the one parse of a stored line.

``DIR/runs.index`` holds one JSON line per stored batch::

    {"start": s, "end": e, "batch_id": b, "run_ids": [...], "sha256": h, "arrays_sha256": a}

where ``[s, e)`` is the batch's byte range in ``DIR/runs.jsonl``, ``h`` the
SHA-256 of exactly those bytes and ``a`` the SHA-256 of ``DIR/arrays/<b>.npz``
as written (``check_store(DIR, array_hashes=True)``, i.e. ``critbench store
check``, names a batch whose arrays file no longer matches; entries of an
older critbench have no ``arrays_sha256``: "arrays not hashed (older store)").
A line of ``runs.jsonl`` *counts* (is read as a run record by
:func:`harness.results.store.load_records`, ``records_for``, ``finished_run_ids``,
:func:`harness.results.columnar.load_columns`) only if it
lies inside an indexed range whose bytes still hash to ``h``.  Lines outside
every range (appended by someone else, e.g. a plug-in copying a record with its
verdict flipped) and lines of a range whose bytes were edited are *ignored* and
counted in :class:`StoreCheck` so that ``score``/``report``/``compare`` can say so.

The index is never rebuilt from ``runs.jsonl`` implicitly (that would launder
foreign lines into it); only :func:`harness.results.store.reindex` with
``trust=True`` (``critbench store reindex DIR --trust``) does that, on the user's word.
Entries without ``sha256`` (an older critbench) are counted *unverified*, with a note.

Write order of a batch (:meth:`harness.results.store.ResultStore.append_batch`):
arrays file, then the index entry (``fsync``), then the JSONL bytes (``fsync``).
An entry whose range ends beyond the file is a batch whose write did not
finish (a kill): readers skip it, the next writer rolls it back.

See ``docs/store.md`` for the threat model.  Standard library only.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from harness.results.records import check_record

__all__ = ["ARRAYS_DIR", "CUTOFF_FILE", "INDEX_FILE", "META_FILE", "RUNS_FILE", "ForeignRecordsError", "IndexEntry", "StoreCheck",
           "StoreError", "StoreWarning", "check_batch_id", "check_store", "file_sha256", "parse_record", "read_index",
           "runs_file", "verify"]

RUNS_FILE = "runs.jsonl"
INDEX_FILE = "runs.index"
ARRAYS_DIR = "arrays"
META_FILE = "meta.json"
#: Optional file of precomputed Fig. 3.3 cutoff analyses, ``{case: harness.scoring.cutoffs.cutoff_analysis(...)}``
#: (written by :func:`harness.scoring.cutoffs.write_cutoff_analyses`, read by the HTML report).
CUTOFF_FILE = "cutoff_analysis.json"
_BATCH_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+=-]*$")


class StoreError(ValueError):
    """A missing, malformed or unwritable result directory (one-line message)."""


class ForeignRecordsError(StoreError):
    """Records for run ids this command reads or stores were indexed by someone else after the command
    opened the store (a solver's process, a second command): the command stops (exit status 1, not a
    user error) instead of counting them or letting the first writer's records stand for its runs."""

    exit_status = 1

    def __init__(self, run_ids: Iterable[str], directory: str | os.PathLike[str]) -> None:
        self.run_ids = tuple(run_ids)
        shown = ", ".join(self.run_ids[:4]) + (f" and {len(self.run_ids) - 4} more" if len(self.run_ids) > 4 else "")
        super().__init__(f"run id(s) {shown} are already stored in {str(directory)!r}, by a writer other than this "
                         "command after it opened the store (a solver's process, or a second command): those records "
                         "cannot be trusted and this command did not store its own for them; inspect the store or "
                         "use a new directory")


class StoreWarning(UserWarning):
    """A recoverable problem on load (torn trailing line, ignored lines, missing arrays)."""


def check_batch_id(batch_id: str) -> str:
    """``batch_id`` if it is a safe file stem (letters, digits, ``. _ + = -``).

    Raises:
        StoreError: otherwise.
    """
    if not isinstance(batch_id, str) or not _BATCH_ID_RE.match(batch_id):
        raise StoreError(f"invalid batch_id {batch_id!r}: use letters, digits and . _ + = - only")
    return batch_id


def sha256(data: bytes) -> str:
    """Hex SHA-256 of ``data`` (the content hash of an index entry)."""
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of the file at ``path``, read in 1 MiB chunks (an arrays file's hash).

    Raises:
        OSError: the file cannot be read.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _is_digest(value: Any) -> bool:
    return value is None or (isinstance(value, str) and len(value) == 64)


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


@dataclasses.dataclass(frozen=True)
class IndexEntry:
    """One stored batch: its byte range ``[start, end)`` in ``runs.jsonl``, its content hash and its
    arrays file's hash (``None``: written by an older critbench, unverifiable)."""

    start: int
    end: int
    batch_id: str
    run_ids: tuple[str, ...]
    sha256: str | None
    arrays_sha256: str | None = None

    def to_line(self) -> bytes:
        """The entry as one ``runs.index`` line (with its newline); ``arrays_sha256`` only when known."""
        obj = {"start": self.start, "end": self.end, "batch_id": self.batch_id, "run_ids": list(self.run_ids),
               "sha256": self.sha256}
        if self.arrays_sha256 is not None:
            obj["arrays_sha256"] = self.arrays_sha256
        return json.dumps(obj).encode("utf-8") + b"\n"

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> IndexEntry:
        start, end = int(obj["start"]), int(obj["end"])
        digest, arrays = obj.get("sha256"), obj.get("arrays_sha256")
        if start < 0 or end <= start or not isinstance(obj["run_ids"], list) or not (
                _is_digest(digest) and _is_digest(arrays)):
            raise ValueError("bad entry")
        return cls(start, end, str(obj["batch_id"]), tuple(str(i) for i in obj["run_ids"]), digest, arrays)


def read_index(index_path: Path, offset: int = 0) -> tuple[list[IndexEntry], int, int]:
    """The complete entries of ``runs.index`` from byte ``offset`` on.

    Returns:
        ``(entries, consumed, bad)``: ``consumed`` is the offset after the last
        complete line (a torn last line, a write cut by a kill, is not consumed);
        ``bad`` counts complete lines that are not a valid entry (skipped: their
        lines of ``runs.jsonl`` then count as not written by critbench).
    """
    try:
        with open(index_path, "rb") as fh:
            fh.seek(offset)
            data = fh.read()
    except FileNotFoundError:
        return [], offset, 0
    complete = data[: data.rfind(b"\n") + 1]
    entries: list[IndexEntry] = []
    bad = 0
    for raw in complete.split(b"\n")[:-1]:
        if not raw.strip():
            continue
        try:
            entries.append(IndexEntry.from_json(json.loads(raw)))
        except (ValueError, KeyError, TypeError, AttributeError):
            bad += 1
    return entries, offset + len(complete), bad


def _lines(data: bytes) -> int:
    """Non-blank newline-terminated lines in ``data``."""
    return sum(1 for raw in data.split(b"\n")[:-1] if raw.strip())


@dataclasses.dataclass
class StoreCheck:
    """What :func:`verify` found: the entries whose lines count, and what is ignored.

    Attributes:
        size: bytes of ``runs.jsonl`` examined.
        verified: entries whose bytes match their hash (or carry none: ``legacy``), in file order.
        legacy: entries without a hash (an older critbench), counted unverified.
        mismatched: entries whose bytes are present but do not match their hash (edited), or that
            overlap an earlier entry.
        incomplete: entries ending beyond the file (a batch being written, or cut by a kill).
        unindexed_lines: complete lines of ``runs.jsonl`` outside every entry (not written by critbench).
        mismatched_lines: complete lines inside ``mismatched`` entries.
        torn_bytes: bytes after the last newline outside every entry (a torn trailing line).
        bad_index_lines: lines of ``runs.index`` that are not a valid entry.
        no_index: ``runs.jsonl`` holds lines but ``runs.index`` does not exist.
        missing_arrays: batch ids of verified entries whose ``arrays/<batch_id>.npz`` is missing
            (filled by :func:`check_store`).
        rewritten_arrays: batch ids of verified entries whose arrays file no longer matches the
            ``arrays_sha256`` of their entry (filled by :func:`check_store` with ``array_hashes``).
        unhashed_arrays: verified entries without ``arrays_sha256`` (an older critbench; not a problem).
    """

    size: int = 0
    verified: list[IndexEntry] = dataclasses.field(default_factory=list)
    legacy: int = 0
    mismatched: list[IndexEntry] = dataclasses.field(default_factory=list)
    incomplete: list[IndexEntry] = dataclasses.field(default_factory=list)
    unindexed_lines: int = 0
    mismatched_lines: int = 0
    torn_bytes: int = 0
    bad_index_lines: int = 0
    no_index: bool = False
    missing_arrays: list[str] = dataclasses.field(default_factory=list)
    rewritten_arrays: list[str] = dataclasses.field(default_factory=list)
    unhashed_arrays: int = 0

    @property
    def ignored_lines(self) -> int:
        """Complete lines of ``runs.jsonl`` that do not count (no index entry or hash mismatch)."""
        return self.unindexed_lines + self.mismatched_lines

    def notes(self) -> list[str]:
        """One line per problem, for ``score``/``report``/``compare`` (empty when the store is clean)."""
        out = []
        if self.no_index:
            out.append(f"{RUNS_FILE} has {self.unindexed_lines} lines but there is no {INDEX_FILE}: none of them "
                       "is counted (run `critbench store reindex DIR --trust` if you vouch for every line)")
        elif self.ignored_lines:
            why = []
            if self.unindexed_lines:
                why.append(f"{self.unindexed_lines} with no index entry")
            if self.mismatched_lines:
                why.append(f"{self.mismatched_lines} in {len(self.mismatched)} batch(es) whose bytes do not "
                           "match their hash")
            out.append(f"ignored {self.ignored_lines} lines in {RUNS_FILE} not written by critbench "
                       f"({', '.join(why)})")
        if self.torn_bytes:
            out.append(f"skipped a torn trailing line ({self.torn_bytes} bytes) in {RUNS_FILE}")
        if self.incomplete:
            out.append(f"skipped {len(self.incomplete)} batch(es) whose write has not finished "
                       f"({', '.join(e.batch_id for e in self.incomplete[:3])})")
        if self.bad_index_lines:
            out.append(f"ignored {self.bad_index_lines} malformed line(s) of {INDEX_FILE}")
        if self.legacy:
            out.append(f"{self.legacy} batch(es) were indexed by an older critbench without content hashes: "
                       "counted but unverified")
        if self.missing_arrays:
            names = ", ".join(f"{ARRAYS_DIR}/{b}.npz" for b in self.missing_arrays[:5])
            more = f" and {len(self.missing_arrays) - 5} more" if len(self.missing_arrays) > 5 else ""
            out.append(f"arrays missing for {len(self.missing_arrays)} batch(es): {names}{more} "
                       "(their runs' JSONL fields are used; traces, theta and snapshots are not available)")
        if self.rewritten_arrays:
            names = ", ".join(self.rewritten_arrays[:5])
            more = f" and {len(self.rewritten_arrays) - 5} more" if len(self.rewritten_arrays) > 5 else ""
            out.append(f"arrays rewritten for {len(self.rewritten_arrays)} batch(es): {names}{more} (their "
                       f"{ARRAYS_DIR}/<batch_id>.npz no longer matches its hash in {INDEX_FILE}: theta, traces and "
                       "snapshots there are not the ones critbench stored)")
        return out

    def remarks(self) -> list[str]:
        """Facts worth a line that are not problems (``critbench store check`` prints them; exit 0)."""
        return [f"{self.unhashed_arrays} batch(es): arrays not hashed (older store)"] if self.unhashed_arrays else []


def verify(runs_path: Path, entries: Iterable[IndexEntry], *, data: bytes | None = None,
           gaps: bool = True) -> StoreCheck:
    """Check ``entries`` against ``runs.jsonl`` (``data``: its bytes, if already read).

    Reads the file once, range by range (O(file size) hashing, no JSON parsing);
    without ``gaps`` only the entries' own bytes are read (lines outside them are not counted).
    """
    ents = sorted(entries, key=lambda e: (e.start, e.end))
    chk = StoreCheck()
    fh = None
    if data is None:
        try:
            fh = open(runs_path, "rb")
        except FileNotFoundError:
            chk.incomplete = list(ents)
            return chk
        size = os.fstat(fh.fileno()).st_size
    else:
        size = len(data)
    chk.size = size

    def read(a: int, b: int) -> bytes:
        if data is not None:
            return data[a:b]
        assert fh is not None
        fh.seek(a)
        return fh.read(b - a)

    try:
        pos = 0
        for e in ents:
            if e.end > size:  # its bytes (if any) are the batch being written, not foreign lines
                chk.incomplete.append(e)
                if e.start >= pos:
                    chk.unindexed_lines += _lines(read(pos, min(e.start, size))) if gaps else 0
                    pos = max(pos, size)
                continue
            if e.start < pos:  # overlaps an earlier entry: not something critbench writes
                chk.mismatched.append(e)
                continue
            if e.start > pos and gaps:
                gap = read(pos, e.start)
                chk.unindexed_lines += _lines(gap)
            body = read(e.start, e.end)
            if e.sha256 is not None and sha256(body) != e.sha256:
                chk.mismatched.append(e)
                chk.mismatched_lines += _lines(body)
            else:
                chk.verified.append(e)
                chk.legacy += e.sha256 is None
            pos = e.end
        if size > pos and gaps:
            tail = read(pos, size)
            cut = tail.rfind(b"\n") + 1
            chk.unindexed_lines += _lines(tail[:cut])
            chk.torn_bytes = len(tail) - cut if tail[cut:].strip() else 0
    finally:
        if fh is not None:
            fh.close()
    return chk


def runs_file(directory: str | os.PathLike[str]) -> Path:
    """``DIR/runs.jsonl`` of a result directory.

    Raises:
        StoreError: ``DIR`` does not exist or has no ``runs.jsonl`` (one line).
    """
    root = Path(directory)
    if not root.is_dir():
        raise StoreError(f"result directory {str(root)!r} does not exist")
    runs = root / RUNS_FILE
    if not runs.is_file():
        raise StoreError(f"no {RUNS_FILE} in {str(root)!r}: not a critbench result directory")
    return runs


def check_store(directory: str | os.PathLike[str], *, arrays: bool = True, array_hashes: bool = False) -> StoreCheck:
    """:func:`verify` the result directory's index against its ``runs.jsonl`` (read-only),
    with ``arrays`` name the verified batches whose arrays file is missing, and with
    ``array_hashes`` also those whose arrays file no longer matches its ``arrays_sha256``
    (reads every arrays file: O(arrays bytes)).

    Raises:
        StoreError: ``DIR`` or its ``runs.jsonl`` is missing.
    """
    runs = runs_file(directory)
    root = runs.parent
    index = root / INDEX_FILE
    entries, _, bad = read_index(index)
    chk = verify(runs, entries)
    chk.bad_index_lines = bad
    chk.no_index = not index.exists() and chk.unindexed_lines > 0
    if arrays or array_hashes:
        chk.missing_arrays = missing_arrays(root, (e.batch_id for e in chk.verified))
    if array_hashes:
        gone = set(chk.missing_arrays)
        for e in chk.verified:
            if e.arrays_sha256 is None:
                chk.unhashed_arrays += 1
            elif e.batch_id not in gone and _arrays_hash(root / ARRAYS_DIR / f"{e.batch_id}.npz") != e.arrays_sha256:
                chk.rewritten_arrays.append(e.batch_id)
    return chk


def _arrays_hash(path: Path) -> str | None:
    """:func:`file_sha256` of ``path``; None when it cannot be read (it then matches no hash)."""
    try:
        return file_sha256(path)
    except OSError:
        return None


def missing_arrays(directory: str | os.PathLike[str], batch_ids: Iterable[str]) -> list[str]:
    """The batch ids among ``batch_ids`` whose ``arrays/<batch_id>.npz`` does not exist (sorted)."""
    adir = Path(directory) / ARRAYS_DIR
    return sorted({b for b in batch_ids if not (adir / f"{b}.npz").is_file()})
