"""Throughput over the same functions as ``critbench bench`` (:mod:`harness.perf.bench`): the f64 matmul
peak and, on the thesis DLAE, the achieved fraction of it by batched HVPs and by a refilling Newton-MR
solve (20 lanes, 20 runs), plus its lane utilization.  Tracked as asv ``track_`` figures."""

from __future__ import annotations

from ._common import need


class Throughput:
    timeout = 1800
    number = 1
    repeat = 1

    def setup_cache(self):
        bench = need("harness.perf.bench")
        peak = bench.matmul_peak()
        row = bench.bench_case("dlae", (20,), runs=20, peak=peak["flops_per_s"])["batches"][0]
        return {"peak": peak["flops_per_s"], "row": row}

    def track_matmul_peak_gflops(self, cache):
        return cache["peak"] / 1e9

    def track_hvp_peak_fraction(self, cache):
        return cache["row"]["hvp_peak_fraction"]

    def track_hvp_grad_ratio(self, cache):
        return cache["row"]["hvp_grad_ratio"]

    def track_newton_mr_solve_peak_fraction(self, cache):
        return cache["row"]["solve_peak_fraction"]

    def track_lane_utilization(self, cache):
        return cache["row"]["lane_utilization"]

    def track_seconds_per_success(self, cache):
        return cache["row"]["s_per_success"]
