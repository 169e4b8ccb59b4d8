"""Default limits of a run (JAX-free, imported by the command line before anything heavy)."""

__all__ = ["DEFAULT_TIME_LIMIT"]

#: Default time limit per run, seconds (a block of n runs gets n times it, from dispatch, its
#: compile warm-up included; loading a plug-in gets one run's time).  Several times the slowest
#: 500-iteration thesis run measured (docs/design.md, "Time limits").
DEFAULT_TIME_LIMIT = 600.0
