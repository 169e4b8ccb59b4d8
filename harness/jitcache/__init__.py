"""On-disk caches of compiled solver loops, a bottom room that imports only JAX and the standard library.

* :mod:`harness.jitcache.compile_cache` -- JAX's persistent (XLA) compilation cache: where it lives,
  turning it on once per process, and counting backend compilations;
* :mod:`harness.jitcache.exported` -- traced loops exported with ``jax.export`` (:class:`ExportedJit`),
  so a warm process skips Python tracing as well.

The solvers, the scoring oracles, the runner, the workers and the pytest plugin all use these; they
use none of them.
"""
