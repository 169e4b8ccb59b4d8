"""Sweeps: a TOML grid of cases x parameters x solvers x options x seeds, expanded
into cells (:mod:`harness.sweep.spec`) and run on Dask through the one pipeline
into one result store (:mod:`harness.sweep.run`)."""

from harness.sweep.run import SweepOutcome, dry_run_rows, run_sweep
from harness.sweep.spec import Sweep, SweepError, load_sweep, parse_sweep

__all__ = ["Sweep", "SweepError", "SweepOutcome", "dry_run_rows", "load_sweep", "parse_sweep", "run_sweep"]
