"""Solution-quality numbers tracked across commits (``track_``; higher is
better for fractions and counts of detections, lower for HVPs per success).

The Newton-MR numbers come from one seeded run of the runner + scorer
(``harness.run.runner.run_spec`` into a temporary store) in ``setup_cache``, so
they are deterministic: any change is a change in the solver or scorer.
"""

from __future__ import annotations

import math
import tempfile

from ._common import need, small_params

#: Runs and budget of the tracked Newton-MR experiment on the small DLAE.
RUNS, MAX_ITER, SEED = 16, 200, 0


class NewtonMRQualityDLAE:
    timeout = 600

    def setup_cache(self):
        try:
            RunSpec = need("harness.run.runner", "RunSpec")
            run_spec = need("harness.run.runner", "run_spec")
            params = small_params("dlae")
        except NotImplementedError as exc:
            return {"skip": str(exc)}
        with tempfile.TemporaryDirectory() as tmp:
            spec = RunSpec("dlae", params, "newton-mr", {}, RUNS, SEED, max_iter=MAX_ITER)
            recs = run_spec(spec, tmp)
        n = len(recs)
        succ = [r for r in recs if r.get("outcome") == "critical"]
        correct = [r for r in recs if r.get("correct") is True]
        hvps = sum(int(r.get("hvps", 0)) for r in recs)
        return {
            "success_fraction": len(succ) / n,
            "correct_fraction": len(correct) / n,
            "hvps_per_success": hvps / len(succ) if succ else math.nan,
        }

    def setup(self, cache) -> None:
        if "skip" in cache:
            raise NotImplementedError(cache["skip"])

    def track_success_fraction_newton_mr_dlae(self, cache) -> float:
        return cache["success_fraction"]

    track_success_fraction_newton_mr_dlae.unit = "fraction of runs"

    def track_correct_fraction_newton_mr_dlae(self, cache) -> float:
        return cache["correct_fraction"]

    track_correct_fraction_newton_mr_dlae.unit = "fraction of runs"

    def track_hvps_per_success_newton_mr_dlae(self, cache) -> float:
        return cache["hvps_per_success"]

    track_hvps_per_success_newton_mr_dlae.unit = "HVPs"


class GradientFlatQuartic:
    """Newton-MR on the quartic (thesis Eq. 3.35) from starts with x0 > -sqrt(2),
    the basin of the strict gradient-flat point (sqrt(2), 0): how many runs end
    classified gradient-flat (``r > 0.9``, ``r_H < 5e-4``) by the scorer."""

    timeout = 300
    N = 32

    def setup_cache(self):
        try:
            np = need("numpy")
            run = need("harness.run.runner", "run")
            Points = need("harness.run.cell", "Points")
            resolve = need("harness.run.cell", "resolve")
            CaseRef = need("harness.run.cell", "CaseRef")
            SolverRef = need("harness.run.cell", "SolverRef")
            ResultStore = need("harness.results.store", "ResultStore")
            load_batch_arrays = need("harness.results.store", "load_batch_arrays")
            shared_pool = need("harness.run.pool", "shared_pool")
        except NotImplementedError as exc:
            return {"skip": str(exc)}
        rng = np.random.default_rng(0)
        x0 = rng.uniform(-math.sqrt(2) + 0.25, 4.0, self.N)
        y0 = rng.uniform(-1.0, 1.0, self.N)
        # the plain quartic (angle 0) is stated in (x, y) coordinates directly
        theta0 = np.stack([x0, y0], axis=1)
        # through the pipeline's front door: solved in a worker, checked and scored by the judge
        with tempfile.TemporaryDirectory() as tmp:
            store, backend = ResultStore(tmp), shared_pool(1)
            points = Points(CaseRef("quartic"), SolverRef("newton-mr"), theta0, 0, max_iter=200, tol=1e-10)
            (recs,) = run([resolve(points, backend=backend, store=store)], store, backend)
            arrays = load_batch_arrays(tmp, {str(r["batch_id"]) for r in recs}, strict=True)
        flat = sum(r.get("outcome") == "gradient-flat" for r in recs)
        finals = [arrays[str(r["batch_id"])]["theta"][int(r["batch_row"])] for r in recs]
        near = sum(bool(np.linalg.norm(t - np.array([math.sqrt(2), 0.0])) < 1e-2) for t in finals)
        return {"flat": flat, "near": near}

    def setup(self, cache) -> None:
        if "skip" in cache:
            raise NotImplementedError(cache["skip"])

    def track_gradient_flat_count_newton_mr_quartic(self, cache) -> int:
        return cache["flat"]

    track_gradient_flat_count_newton_mr_quartic.unit = "runs of 32"

    def track_near_flat_point_count_newton_mr_quartic(self, cache) -> int:
        return cache["near"]

    track_near_flat_point_count_newton_mr_quartic.unit = "runs of 32"
