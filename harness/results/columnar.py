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
* :func:`load_columns` reads projected columns from the segments plus the JSONL
  tail after them, record by record through :func:`harness.results.store.parse_record`
  (the store's single parse point).  Segments are valid only while they tile
  ``[0, end)`` of the current ``runs.jsonl`` and the SHA-256 of each segment's
  last 512 bytes (kept in its metadata) matches the file; otherwise they are ignored (and replaced by the next :func:`compact`).
* Nested or mixed-type fields (``case_params``, ``solver_options``,
  ``provenance``, a numeric field holding ``"inf"``) are stored as JSON strings
  and decoded on read (the segment's ``critbench.json_columns`` metadata lists them).

A duplicated ``run_id`` keeps its first record, as :func:`harness.results.store.load_records`.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.results.store import RUNS_FILE, StoreError, parse_record

__all__ = ["COLUMNS_DIR", "SCORE_FIELDS", "compact", "load_columns", "segments"]

COLUMNS_DIR = "columns"
_SEG_RE = re.compile(r"^part-(\d{16})-(\d{16})\.parquet$")
_JSON_META = b"critbench.json_columns"
_TAIL_META = b"critbench.tail_sha256"
#: Bytes before a segment's ``end`` whose hash ties the segment to this ``runs.jsonl``.
_TAIL_BYTES = 512
#: The record fields :func:`harness.scoring.score.summarize` reads (``critbench score`` loads only these).
SCORE_FIELDS = ("run_id", "case", "case_key", "solver", "solver_key", "outcome", "correct", "seconds", "hvps",
                "grads", "batch_id", "compile_seconds", "ever_gradient_flat", "reported_ever_gradient_flat",
                "loss_error", "index_error_count", "index_error_fraction")


def segments(directory: str | os.PathLike[str]) -> list[tuple[int, int, Path]]:
    """The valid segments ``(start, end, path)``: tiling ``[0, end)`` of ``runs.jsonl``
    with ``end`` just after a newline; ``[]`` if they do not fit the current file."""
    root = Path(directory)
    cdir = root / COLUMNS_DIR
    runs = root / RUNS_FILE
    if not cdir.is_dir() or not runs.is_file():
        return []
    segs = sorted((int(m[1]), int(m[2]), p) for p in cdir.iterdir() if (m := _SEG_RE.match(p.name)))
    pos = 0
    for s, e, _ in segs:
        if s != pos or e <= s:
            return []
        pos = e
    size = runs.stat().st_size
    if pos > size:
        return []
    import pyarrow.parquet as pq

    with open(runs, "rb") as fh:  # each segment's last bytes must still be in runs.jsonl
        for s, e, p in segs:
            try:
                meta = pq.read_schema(p).metadata or {}
            except OSError:
                return []
            if meta.get(_TAIL_META) != _tail_hash(fh, s, e).encode():
                return []
    return segs


def _tail_hash(fh: Any, start: int, end: int) -> str:
    import hashlib

    a = max(start, end - _TAIL_BYTES)
    fh.seek(a)
    return hashlib.sha256(fh.read(end - a)).hexdigest()


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
    """Write the records after the last valid segment as new Parquet segments
    (one per :data:`SEGMENT_BYTES` of JSONL, so memory stays bounded).

    Each chunk is parsed record by record with :func:`harness.results.store.parse_record`
    (Arrow's own JSON reader would turn ISO time strings into timestamps and
    fails on fields that change type); nested or mixed fields become JSON strings.

    Returns:
        The new segments' paths (``[]`` when there was nothing new).
    """
    root = Path(directory)
    runs = root / RUNS_FILE
    if not runs.is_file():
        raise StoreError(f"no {RUNS_FILE} in {str(root)!r}: not a critbench result directory")
    cdir = root / COLUMNS_DIR
    segs = segments(root)
    if not segs and cdir.is_dir():  # stale segments (runs.jsonl replaced): start over
        for p in cdir.glob("part-*.parquet"):
            p.unlink()
    start = segs[-1][1] if segs else 0
    seen = _run_ids(segs)
    size = runs.stat().st_size
    out: list[Path] = []
    with open(runs, "rb") as fh:
        fh.seek(start)
        while start < size:
            data = fh.read(SEGMENT_BYTES)
            while data and not data.endswith(b"\n"):  # extend the chunk to the next line end
                more = fh.read(1 << 20)
                if not more:
                    break
                k = more.find(b"\n")
                if k >= 0:
                    data += more[: k + 1]
                    break
                data += more
            end = start + data.rfind(b"\n") + 1
            if end <= start:
                break
            out.append(_write_segment(cdir, start, end, data[: end - start], seen, runs))
            fh.seek(end)
            start = end
    return out


def _write_segment(cdir: Path, start: int, end: int, chunk: bytes, seen: set[str], runs: Path) -> Path:
    import hashlib

    import pyarrow as pa
    import pyarrow.parquet as pq

    table, json_cols = _python_table(chunk, f"{runs} after byte {start}")
    ids = table.column("run_id").to_pylist() if table.num_rows else []
    keep = []
    for rid in ids:
        keep.append(str(rid) not in seen)
        seen.add(str(rid))
    if not all(keep):  # a duplicated run_id keeps its first record
        table = table.filter(pa.array(keep))
    tail = hashlib.sha256(chunk[-min(_TAIL_BYTES, len(chunk)):]).hexdigest()
    table = table.replace_schema_metadata({_JSON_META: json.dumps(json_cols).encode(), _TAIL_META: tail.encode()})
    cdir.mkdir(exist_ok=True)
    final = cdir / f"part-{start:016d}-{end:016d}.parquet"
    tmp = cdir / f".tmp-{os.getpid()}-{threading.get_ident()}.parquet"
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, final)
    return final


def _python_table(chunk: bytes, where: str) -> tuple[Any, list[str]]:
    import pyarrow as pa

    rows = [parse_record(raw, where) for raw in chunk.split(b"\n") if raw.strip()]
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
    """Every stored record projected on ``columns`` (absent fields read as ``None``), in file order.

    Reads the Parquet segments (only ``columns``) and parses the JSONL tail
    after them; without segments this is :func:`harness.results.store.load_records`
    projected.

    Raises:
        StoreError: as :func:`harness.results.store.load_records`.
    """
    import pyarrow.parquet as pq

    from harness.results.store import load_records

    root = Path(directory)
    cols = list(dict.fromkeys(["run_id", *columns]))
    segs = segments(root)
    if not segs:
        return [{c: r.get(c) for c in cols} for r in load_records(root)]
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for _, _, p in segs:
        pf = pq.ParquetFile(p)
        meta = pf.schema_arrow.metadata or {}
        json_cols = set(json.loads(meta.get(_JSON_META, b"[]")))
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
    # the JSONL tail after the last segment (not yet compacted)
    runs = root / RUNS_FILE
    with open(runs, "rb") as fh:
        fh.seek(segs[-1][1])
        tail = fh.read()
    for raw in tail[: tail.rfind(b"\n") + 1].split(b"\n"):
        if raw.strip():
            rec = parse_record(raw, f"{runs} after byte {segs[-1][1]}")
            if str(rec["run_id"]) not in seen:
                seen.add(str(rec["run_id"]))
                out.append({c: rec.get(c) for c in cols})
    return out
