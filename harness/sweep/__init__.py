"""Sweeps: a TOML grid of cases x parameters x solvers x options x seeds, expanded
into shards (:mod:`harness.sweep.spec`) and run on Dask into one result store
(:mod:`harness.sweep.run`)."""

from harness.sweep.run import SweepOutcome, dry_run_rows, run_sweep, solve_shard_task
from harness.sweep.spec import Shard, Sweep, SweepError, expand_shards, load_sweep, parse_sweep

__all__ = ["Shard", "Sweep", "SweepError", "SweepOutcome", "dry_run_rows", "expand_shards", "load_sweep",
           "parse_sweep", "run_sweep", "solve_shard_task"]
