"""Result-store scale: appending a 64-run shard, resume checks, ``score`` and the
report on synthetic stores of 10^4, 10^5 and 10^6 runs (``harness.perf.store_bench``).

Appending must stay flat as the store grows (the run index, not a re-read of
``runs.jsonl``); ``score`` reads the Parquet snapshot's score columns only.
The report reads every record and array, so it is timed up to 10^5 runs.
The table for ``docs/store.md``: ``python -m harness.perf.store_bench``.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from ._common import need

SIZES = [10_000, 100_000, 1_000_000]


class StoreScale:
    params = SIZES
    param_names = ["runs"]
    timeout = 1800
    number = 1
    repeat = 3

    def setup_cache(self) -> str:
        bench = need("harness.perf.store_bench")
        root = Path(tempfile.mkdtemp(prefix="critbench-store-bench-"))
        for n in SIZES:
            bench.make_synthetic_store(root / f"n{n}", n)
            need("harness.results.columnar").compact(root / f"n{n}")
        return str(root)

    def setup(self, root: str, n: int) -> None:
        self.bench = need("harness.perf.store_bench")
        self.store_mod = need("harness.results.store")
        self.dir = Path(root) / f"n{n}"
        self.n = n
        self.k = 0
        self.store = self.store_mod.ResultStore(self.dir)
        self.store.finished_run_ids()  # the index is loaded once, as in a sweep
        self.ids = [r["run_id"] for r in self.bench.synthetic_batch(0)[1]]
        self.columnar = need("harness.results.columnar")
        self.summarize = need("harness", "summarize")  # imported here: its import is not the benchmark

    def teardown(self, root: str, n: int) -> None:
        self.bench._truncate_appends(self.dir, n)

    def time_append_shard64(self, root: str, n: int) -> None:
        import numpy as np

        b = -(-self.n // self.bench.BATCH) + 1000 + self.k
        self.k += 1
        bid, recs = self.bench.synthetic_batch(b)
        self.store.append_batch(recs, {"theta": np.zeros((64, 16))}, f"{bid}-new")

    def time_open_and_resume_check(self, root: str, n: int) -> None:
        st = self.store_mod.ResultStore(self.dir)
        assert all(st.has_run(i) for i in self.ids)

    def time_score_parquet(self, root: str, n: int) -> None:
        self.summarize(self.columnar.load_columns(self.dir, self.columnar.SCORE_FIELDS))


class ReportScale:
    params = SIZES[:2]
    param_names = ["runs"]
    timeout = 900
    number = 1
    repeat = 1

    def setup(self, n: int) -> None:
        bench = need("harness.perf.store_bench")
        need("harness.report")
        self.root = Path(tempfile.mkdtemp(prefix="critbench-report-bench-"))
        bench.make_synthetic_store(self.root / "s", n)

    def teardown(self, n: int) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def time_report(self, n: int) -> None:
        need("harness.report").render_report(self.root / "s", self.root / "report.html")
