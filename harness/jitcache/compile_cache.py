"""JAX's persistent compilation cache for every critbench entry point, and compile counting.

XLA compilation dominates short suites (1-30 s per cell on a 2-core CPU); with
the persistent cache a second process that solves the same shapes loads the
executables from disk instead of compiling them again.

Where the cache lives (first that applies):

1. an explicit setting (the CLI's ``--compile-cache DIR|off``, the pytest
   plugin's ``--critbench-compile-cache``);
2. the environment variable :data:`ENV_VAR` (``CRITBENCH_COMPILE_CACHE``);
3. the user cache directory of ``platformdirs``:
   ``user_cache_path("critbench") / "jax-compile-cache"``.

A setting of ``off`` (or ``0``, ``none``, ``false``, ``no``) disables it.

Within one process the jit caches of :mod:`harness.solvers._loop` already give
one executable per (case shapes, solver options, budget, batch shape);
:class:`CompileCounter` counts XLA backend compilations (JAX's monitoring
events) so tests and ``critbench bench`` can check that nothing recompiles.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

__all__ = ["COMPILE_CACHE_HELP", "ENV_VAR", "CompileCounter", "default_cache_dir", "enable_compile_cache", "resolve_cache_dir"]

#: Environment variable overriding the cache directory (``off`` disables).
ENV_VAR = "CRITBENCH_COMPILE_CACHE"
_OFF = {"off", "0", "none", "false", "no"}
#: The ``--compile-cache`` option's help, one text for every command that takes it.
COMPILE_CACHE_HELP = ("JAX persistent compilation cache directory, or 'off' (default: $CRITBENCH_COMPILE_CACHE, "
                      "else the user cache directory; see harness.jitcache.compile_cache)")

_BACKEND_COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"
_CACHE_HIT_EVENT = "/jax/compilation_cache/cache_hits"


def default_cache_dir() -> Path:
    """The per-user default: ``platformdirs.user_cache_path("critbench") / "jax-compile-cache"``."""
    import platformdirs

    return Path(platformdirs.user_cache_path("critbench")) / "jax-compile-cache"


def resolve_cache_dir(setting: str | os.PathLike[str] | None = None) -> Path | None:
    """The cache directory for ``setting`` (flag value), else :data:`ENV_VAR`, else the default.

    Returns None when the effective value is ``off`` (disabled).
    """
    value: Any = setting if setting is not None else os.environ.get(ENV_VAR)
    if value is None or str(value).strip() == "":
        return default_cache_dir()
    if str(value).strip().lower() in _OFF:
        return None
    return Path(os.path.expanduser(str(value)))


def enable_compile_cache(setting: str | os.PathLike[str] | None = None) -> Path | None:
    """Turn JAX's persistent compilation cache on (or off) for this process.

    Every executable is cached, however fast it compiled (min compile time 0),
    so a warm second invocation spends almost no time compiling.  Safe to call
    again (the last call wins; JAX re-reads the setting).

    Args:
        setting: a directory, ``"off"``, or None (use :data:`ENV_VAR` / the default).

    Returns:
        The cache directory in use, or None when disabled.

    Raises:
        ValueError: the directory cannot be created (one-line message).
    """
    import jax

    directory = resolve_cache_dir(setting)
    if directory is not None:
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ValueError(f"cannot create the compile cache directory {directory}: {exc.strerror}") from None
    jax.config.update("jax_compilation_cache_dir", None if directory is None else str(directory))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    try:  # JAX decides once per process whether the cache is used; make it look again
        from jax._src import compilation_cache as _cc

        _cc.reset_cache()
    except (ImportError, AttributeError):  # pragma: no cover - older/newer JAX
        pass
    return directory


class CompileCounter:
    """Counts XLA backend compilations (and persistent-cache hits) while active.

    Usage::

        with CompileCounter() as cc:
            solver.solve(...)
        cc.compiles, cc.compile_seconds, cc.cache_hits

    Uses JAX's monitoring listeners (``/jax/core/compile/backend_compile_duration``
    fires once per compilation, including one served from the persistent
    cache, whose ``cache_hits`` are counted separately).  Counts every thread.
    """

    def __init__(self) -> None:
        self.compiles = 0
        self.compile_seconds = 0.0
        self.cache_hits = 0
        self._lock = threading.Lock()
        self._active = False

    def _on_duration(self, event: str, duration: float, **_: Any) -> None:
        if self._active and event == _BACKEND_COMPILE_EVENT:
            with self._lock:
                self.compiles += 1
                self.compile_seconds += float(duration)

    def _on_event(self, event: str, **_: Any) -> None:
        if self._active and event == _CACHE_HIT_EVENT:
            with self._lock:
                self.cache_hits += 1

    def __enter__(self) -> "CompileCounter":
        from jax import monitoring

        self._active = True
        monitoring.register_event_duration_secs_listener(self._on_duration)
        monitoring.register_event_listener(self._on_event)
        return self

    def __exit__(self, *exc: Any) -> None:
        self._active = False
        try:
            from jax._src import monitoring as _m

            _m.unregister_event_duration_listener(self._on_duration)
            _m.unregister_event_listener(self._on_event)
        except (ImportError, AttributeError, ValueError):  # pragma: no cover - listener stays inert
            pass
