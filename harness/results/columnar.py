"""Columnar snapshot of a result store (Parquet) for fast queries on large result sets.

``runs.jsonl`` stays the store's crash-safe append log and source of truth
(:mod:`harness.results.store`); this module keeps a *derived* columnar copy of it in
``DIR/columns/part-<start>-<end>.parquet``, each segment holding the records
of the byte range ``[start, end)`` of ``runs.jsonl``.  Why this split: appends
stay O(shard) with one ``write`` + ``fsync`` and every existing reader (and
older critbench) keeps working on the JSONL file, while ``critbench score`` on
a million runs reads only the columns it needs from Parquet instead of parsing
~1.6 kB of JSON per run.

* :func:`compact` writes one new segment for the bytes after the last segment
  (O(new records)); it is called at the end of a sweep and may be called any
  time (``ResultStore(...).compact()``).  Segments are written to a temporary
  file and renamed, so a kill leaves either no segment or a complete one.
* :func:`load_columns` reads projected columns from the segments plus the
  indexed batches after them, record by record through
  :func:`harness.results.index.parse_record` (the store's single parse point).
  Only batches critbench wrote are ever read (:mod:`harness.results.index`: an
  index entry whose SHA-256 matches the bytes).  Each segment lists, in its
  metadata, the index entries (range and hash) it holds; segments are used only
  while their entries are, in order, the first verified entries of the current
  index; otherwise they are ignored (and replaced by the next :func:`compact`).
* Nested or mixed-type fields (``case_params``, ``solver_options``,
  ``provenance``, a numeric field holding ``"inf"``) are stored as JSON strings
  and decoded on read (the segment's ``critbench.json_columns`` metadata lists them).

A duplicated ``run_id`` keeps its first record, as :func:`harness.results.store.load_records`.
This module depends on :mod:`harness.results.index` only (the store imports it, never the reverse).
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.results.index import INDEX_FILE, RUNS_FILE, IndexEntry, StoreCheck, StoreError, check_store, parse_record, runs_file

__all__ = ["COLUMNS_DIR", "SCORE_FIELDS", "compact", "load_columns", "segments"]

COLUMNS_DIR = "columns"
_SEG_RE = re.compile(r"^part-(\d{16})-(\d{16})\.parquet$")
_JSON_META = b"critbench.json_columns"
_ENTRIES_META = b"critbench.index_entries"
#: The record fields :func:`harness.scoring.summary.summarize` reads (``critbench score`` loads only these).
SCORE_FIELDS = ("run_id", "case", "case_key", "solver", "solver_key", "outcome", "correct", "seconds", "hvps",
                "grads", "batch_id", "compile_seconds", "ever_gradient_flat", "reported_ever_gradient_flat",
                "loss_error", "index_error_count", "index_error_fraction")


def _key(e: IndexEntry) -> list[Any]:
    return [e.start, e.end, e.sha256]


def _checked(directory: str | os.PathLike[str]) -> StoreCheck:
    chk = check_store(directory, arrays=False)
    if chk.no_index:
        raise StoreError(f"{Path(directory) / RUNS_FILE} has {chk.unindexed_lines} lines but there is no {INDEX_FILE}: "
                         "critbench counts only lines it indexed; run `critbench store reindex DIR --trust` if you "
                         "vouch for every line")
    return chk


def segments(directory: str | os.PathLike[str], check: StoreCheck | None = None) -> list[tuple[int, int, Path]]:
    """The valid segments ``(start, end, path)``: the index entries they hold are, in order, the
    first verified entries of the current index (``check``: :func:`harness.results.index.check_store`);
    ``[]`` if they do not fit."""
    root = Path(directory)
    cdir = root / COLUMNS_DIR
    if not cdir.is_dir() or not (root / RUNS_FILE).is_file():
        return []
    segs = sorted((int(m[1]), int(m[2]), p) for p in cdir.iterdir() if (m := _SEG_RE.match(p.name)))
    if not segs:
        return []
    chk = check if check is not None else _checked(root)
    want = [_key(e) for e in chk.verified]
    import pyarrow.parquet as pq

    k = 0
    for _, _, p in segs:
        try:
            meta = pq.read_schema(p).metadata or {}
            held = json.loads(meta.get(_ENTRIES_META, b"null"))
        except (OSError, ValueError):
            return []
        if not isinstance(held, list) or not held or want[k:k + len(held)] != held:
            return []
        k += len(held)
    return segs


def _column(values: list[Any]) -> tuple[Any, bool]:
    """An Arrow array of ``values``, or of their JSON text (``True``) if they are nested or mixed."""
    import pyarrow as pa

    if not any(isinstance(v, (dict, list)) for v in values):
        try:
            arr = pa.array(values)
            if not pa.types.is_struct(arr.type) and not pa.types.is_list(arr.type):
                return arr, False
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            pass
    return pa.array([None if v is None else json.dumps(v) for v in values], type=pa.string()), True


#: Bytes of ``runs.jsonl`` per Parquet segment written by :func:`compact` (bounds its memory).
SEGMENT_BYTES = 64 << 20


def compact(directory: str | os.PathLike[str]) -> list[Path]:
    """Write the verified batches after the last valid segment as new Parquet segments
    (one per :data:`SEGMENT_BYTES` of JSONL or one batch, so memory stays bounded).

    Each chunk is parsed record by record with :func:`harness.results.index.parse_record`
    (Arrow's own JSON reader would turn ISO time strings into timestamps and
    fails on fields that change type); nested or mixed fields become JSON strings.
    Lines critbench did not write (:mod:`harness.results.index`) are never compacted.

    Returns:
        The new segments' paths (``[]`` when there was nothing new).
    """
    root = Path(directory)
    runs = root / RUNS_FILE
    if not runs.is_file():
        raise StoreError(f"no {RUNS_FILE} in {str(root)!r}: not a critbench result directory")
    chk = _checked(root)
    cdir = root / COLUMNS_DIR
    segs = segments(root, chk)
    if not segs and cdir.is_dir():  # stale segments (store changed): start over
        for p in cdir.glob("part-*.parquet"):
            p.unlink()
    done = sum(len(_held(p)) for _, _, p in segs)
    todo = chk.verified[done:]
    seen = _run_ids(segs)
    out: list[Path] = []
    with open(runs, "rb") as fh:
        while todo:
            chunk, size = [], 0
            while todo and (not chunk or size + todo[0].end - todo[0].start <= SEGMENT_BYTES):
                e = todo.pop(0)
                chunk.append(e)
                size += e.end - e.start
            out.append(_write_segment(cdir, chunk, fh, seen, runs))
    return out


def _held(path: Path) -> list[Any]:
    import pyarrow.parquet as pq

    return json.loads((pq.read_schema(path).metadata or {}).get(_ENTRIES_META, b"[]"))


def _read_lines(fh: Any, entries: Sequence[IndexEntry]) -> list[bytes]:
    out = []
    for e in entries:
        fh.seek(e.start)
        out.extend(raw for raw in fh.read(e.end - e.start).split(b"\n") if raw.strip())
    return out


def _write_segment(cdir: Path, entries: Sequence[IndexEntry], fh: Any, seen: set[str], runs: Path) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    start, end = entries[0].start, entries[-1].end
    table, json_cols = _python_table(_read_lines(fh, entries), f"{runs} after byte {start}")
    ids = table.column("run_id").to_pylist() if table.num_rows else []
    keep = []
    for rid in ids:
        keep.append(str(rid) not in seen)
        seen.add(str(rid))
    if not all(keep):  # a duplicated run_id keeps its first record
        table = table.filter(pa.array(keep))
    table = table.replace_schema_metadata({_JSON_META: json.dumps(json_cols).encode(),
                                           _ENTRIES_META: json.dumps([_key(e) for e in entries]).encode()})
    cdir.mkdir(exist_ok=True)
    final = cdir / f"part-{start:016d}-{end:016d}.parquet"
    tmp = cdir / f".tmp-{os.getpid()}-{threading.get_ident()}-segment.parquet"
    try:
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()
    return final


def _python_table(lines: Sequence[bytes], where: str) -> tuple[Any, list[str]]:
    import pyarrow as pa

    rows = [parse_record(raw, where) for raw in lines]
    keys = list(dict.fromkeys(k for r in rows for k in r))
    arrays, json_cols = [], []
    for k in keys:
        arr, is_json = _column([r.get(k) for r in rows])
        arrays.append(arr)
        if is_json:
            json_cols.append(k)
    return pa.Table.from_arrays(arrays, names=keys), json_cols


def _run_ids(segs: Sequence[tuple[int, int, Path]]) -> set[str]:
    import pyarrow.parquet as pq

    out: set[str] = set()
    for _, _, p in segs:
        out.update(pq.read_table(p, columns=["run_id"]).column("run_id").to_pylist())
    return out


def load_columns(directory: str | os.PathLike[str], columns: Sequence[str]) -> list[dict[str, Any]]:
    """Every record critbench wrote (:mod:`harness.results.index`), projected on ``columns``
    (absent fields read as ``None``), in file order.

    Reads the Parquet segments (only ``columns``) and parses the verified batches
    after them; without segments it parses every verified batch.  Read-only.

    Raises:
        StoreError: as :func:`harness.results.store.read_records`.
    """
    import pyarrow.parquet as pq

    runs = runs_file(directory)
    root = runs.parent
    chk = _checked(root)
    cols = list(dict.fromkeys(["run_id", *columns]))
    segs = segments(root, chk)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    done = 0
    for _, _, p in segs:
        pf = pq.ParquetFile(p)
        meta = pf.schema_arrow.metadata or {}
        json_cols = set(json.loads(meta.get(_JSON_META, b"[]")))
        done += len(json.loads(meta.get(_ENTRIES_META, b"[]")))
        have = [c for c in cols if c in pf.schema_arrow.names]
        table = pf.read(columns=have)
        data = {c: table.column(c).to_pylist() for c in have}
        for c in json_cols.intersection(have):
            data[c] = [None if v is None else json.loads(v) for v in data[c]]
        n = table.num_rows
        missing = [None] * n
        vals = [data.get(c, missing) for c in cols]
        for row in zip(*vals):
            out.append(dict(zip(cols, row)))
        seen.update(data["run_id"])
    # the verified batches after the last segment (not yet compacted)
    from harness.results.index import sha256

    with open(runs, "rb") as fh:
        for e in chk.verified[done:]:
            fh.seek(e.start)
            body = fh.read(e.end - e.start)
            if e.sha256 is not None and sha256(body) != e.sha256:  # changed since the check
                continue
            for raw in body.split(b"\n"):
                if raw.strip():
                    rec = parse_record(raw, f"{runs} after byte {e.start}")
                    if str(rec["run_id"]) not in seen:
                        seen.add(str(rec["run_id"]))
                        out.append({c: rec.get(c) for c in cols})
    return out
