"""Loading stored results for the report (no solver or JAX imports).

A result directory (``docs/design.md``, "Run records") holds ``runs.jsonl``
(one JSON record per run), ``arrays/<batch_id>.npz`` (per-batch traces and
snapshots) and ``meta.json`` (command and provenance); they are read with
:mod:`harness.results.store` (stdlib + NumPy only), whose errors become
:class:`ReportError`.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from harness.results import store


class ReportError(ValueError):
    """The report cannot be rendered (missing or empty results directory, ...)."""


@dataclasses.dataclass(frozen=True)
class ResultsData:
    """Everything the report shows, read from one results directory.

    Attributes:
        results_dir: the directory read.
        records: run records in file order.
        arrays: ``batch_id -> {name: array}`` for the batches whose array file exists.
        meta: the parsed ``meta.json`` (empty if absent).
    """

    results_dir: Path
    records: list[dict[str, Any]]
    arrays: Mapping[str, Mapping[str, np.ndarray]]
    meta: Mapping[str, Any]

    @functools.cached_property
    def batch_rows(self) -> dict[str, int]:
        """``run_id -> row`` in its batch's arrays (the ``batch_row`` field if stored,
        otherwise the record's position among its batch's records in file order)."""
        rows: dict[str, int] = {}
        seen: dict[str, int] = {}
        for rec in self.records:
            bid = str(rec.get("batch_id"))
            pos = seen.get(bid, 0)
            seen[bid] = pos + 1
            row = rec.get("batch_row", rec.get("batch_index", pos))
            rows[str(rec.get("run_id"))] = int(row)
        return rows

    def row_array(self, record: Mapping[str, Any], name: str) -> np.ndarray | None:
        """The ``name`` array row of one run, or ``None`` when not stored."""
        arrs = self.arrays.get(str(record.get("batch_id")))
        if not arrs or name not in arrs:
            return None
        row = self.batch_rows.get(str(record.get("run_id")))
        arr = arrs[name]
        if row is None or row >= arr.shape[0]:
            return None
        return arr[row]


def load_results(results_dir: str | Path, *, warn: bool = True) -> ResultsData:
    """Read a results directory with the store's readers (read-only): the records critbench
    wrote (:func:`harness.results.store.load_records`; with ``warn``, ignored lines and
    missing or rewritten arrays files are :class:`harness.results.store.StoreWarning`), the arrays
    files that exist and match their index hash, and ``meta.json``.

    Raises:
        ReportError: the directory or its ``runs.jsonl`` is missing or malformed,
            or it holds no records.
    """
    root = Path(results_dir)
    try:
        records = [dict(r) for r in store.load_records(root, warn=warn)]
        if not records:
            raise ReportError(f"results directory {str(root)!r} holds no run records")
        arrays: dict[str, Mapping[str, np.ndarray]] = dict(
            store.load_batch_arrays(root, (str(r.get("batch_id")) for r in records), warn=warn))
        meta = store.load_meta(root)
    except store.StoreError as exc:
        raise ReportError(str(exc)) from None
    return ResultsData(root, records, arrays, meta)
