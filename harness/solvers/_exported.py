"""Traced solver loops kept on disk, so a warm process skips Python tracing as well as XLA compilation.

JAX's persistent compilation cache (``harness.run.compile_cache``) saves the XLA
*compilation* of the solver loop, but every new process still *traces* it:
about 0.8 s of Python for Newton-MR's loop with MINRES-QLP inside, which was
most of a warm ``critbench run``'s "compile s".  :class:`ExportedJit` wraps a
``jax.jit`` function: the first call with a given key exports the traced
function (``jax.export``; StableHLO, a few tens of kB) to
``<jax_compilation_cache_dir>/critbench-exported/``; later calls, in this or
any later process, deserialize it and compile it through the persistent cache.

The key is everything the trace depends on:

* the SHA-256 of every ``.py`` file of the top-level packages that define the
  solver class (and its bases) and the loss function (for the built-ins:
  ``harness/`` and ``cases/``), so editing any source file invalidates all
  entries;
* the static arguments' ``repr`` (a solver is a frozen dataclass whose repr
  lists every option; ``max_iter``), the loss function's module and name;
* the shapes, dtypes and tree structure of the traced arguments;
* the JAX and jaxlib versions, the backend, ``jax_enable_x64`` and the
  default matmul precision.

When a key cannot be formed safely (a lambda or closure loss, a solver whose
repr shows an object address, a class defined in ``__main__``), the cache
directory is unset (``--compile-cache off``), or exporting fails (e.g. a host
callback), the call goes to the plain ``jax.jit`` function.  Results are the
same executable either way: ``tests/solvers/test_exported.py`` checks them bit
for bit.  Only ``jax`` and the standard library are used (the solvers room).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import pickle
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import jax

__all__ = ["ExportedJit", "SUBDIR"]

#: Subdirectory of JAX's compilation cache directory holding the exported traces.
SUBDIR = "critbench-exported"
_FORMAT = 1


def _cache_root() -> Path | None:
    d = jax.config.jax_compilation_cache_dir
    return Path(d) / SUBDIR if d else None


_PKG_HASH: dict[str, str | None] = {}
_PKG_LOCK = threading.Lock()


def _package_hash(module_name: str) -> str | None:
    """SHA-256 over the ``.py`` files of ``module_name``'s top-level package (None: no source on disk)."""
    top = module_name.split(".")[0]
    with _PKG_LOCK:
        if top in _PKG_HASH:
            return _PKG_HASH[top]
        h: str | None = None
        spec = None if top == "__main__" else importlib.util.find_spec(top)  # sys.modules' spec when imported
        if spec is not None:
            locs = [Path(loc) for loc in (spec.submodule_search_locations or [])]
            files = [(str(f.relative_to(loc)), f) for loc in locs for f in sorted(loc.rglob("*.py"))] if locs else (
                [(Path(spec.origin).name, Path(spec.origin))] if spec.origin and spec.origin.endswith(".py") else [])
            if files:
                digest = hashlib.sha256()
                for rel, f in files:
                    digest.update(rel.encode() + b"\0" + f.read_bytes() + b"\0")
                h = digest.hexdigest()
        _PKG_HASH[top] = h
        return h


def _static_part(value: Any) -> str | None:
    """A stable text for one static argument, or None if it has none (lambdas, closures, addresses)."""
    if callable(value) and not isinstance(value, type) and hasattr(value, "__qualname__"):
        q = value.__qualname__
        if "<lambda>" in q or "<locals>" in q:
            return None
        src = _package_hash(value.__module__)
        return None if src is None else f"fn:{value.__module__}.{q}:{src}"
    r = repr(value)
    if " at 0x" in r:  # an object address: not stable across processes
        return None
    parts = [r]
    for cls in type(value).__mro__:
        if cls.__module__ in ("builtins", "abc", "typing"):
            continue
        src = _package_hash(cls.__module__)
        if src is None:
            return None
        parts.append(f"{cls.__module__}.{cls.__qualname__}:{src}")
    return "|".join(parts)


def _aval(x: Any) -> tuple[tuple[int, ...], Any]:
    """``(shape, dtype)`` of a traced argument (arrays answer directly; ``result_type`` is slow)."""
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return tuple(x.shape), x.dtype
    return jax.numpy.shape(x), jax.numpy.result_type(x)


def _abstract(x: Any) -> Any:
    return jax.ShapeDtypeStruct(*_aval(x))


class ExportedJit:
    """``jax.jit(impl, static_argnums=...)`` whose traces persist across processes (see the module docstring)."""

    def __init__(self, impl: Callable, static_argnums: Sequence[int], donate_argnums: Sequence[int] = ()) -> None:
        self.impl = impl
        self.static_argnums = tuple(static_argnums)
        self.jit = jax.jit(impl, static_argnums=self.static_argnums, donate_argnums=tuple(donate_argnums))
        self._calls: dict[str, tuple[Callable, Any]] = {}
        self._keys: dict[Any, str | None] = {}
        self._lock = threading.Lock()
        self._failed: set[str] = set()

    def __call__(self, *args: Any) -> Any:
        root = _cache_root()
        statics, leaves, tree = self._split(args)
        key = None if root is None else self._key(root, statics, leaves, tree)
        if key is None or key in self._failed:
            return self.jit(*args)
        entry = self._calls.get(key)
        if entry is None:
            with self._lock:
                entry = self._calls.get(key) or self._load_or_export(root, key, statics, leaves, tree)
                if entry is None:
                    self._failed.add(key)
                    return self.jit(*args)
                self._calls[key] = entry
        call, out_tree = entry
        return jax.tree_util.tree_unflatten(out_tree, call(*leaves))

    # ------------------------------------------------------------------ internals
    def _split(self, args: Sequence[Any]) -> tuple[tuple[Any, ...], list[Any], Any]:
        """``(static args, traced leaves, their tree)``."""
        statics = tuple(args[i] for i in self.static_argnums)
        leaves, tree = jax.tree_util.tree_flatten([a for i, a in enumerate(args) if i not in self.static_argnums])
        return statics, leaves, tree

    def _key(self, root: Path, statics: tuple[Any, ...], leaves: list[Any], tree: Any) -> str | None:
        """The on-disk key (None: no stable key), memoised per process on what ``jax.jit`` keys on."""
        avals = tuple(_aval(x) for x in leaves)
        memo = (root, statics, tree, avals, jax.config.jax_enable_x64, jax.config.jax_default_matmul_precision)
        try:
            if memo not in self._keys:
                self._keys[memo] = self._disk_key(statics, tree, avals)
        except TypeError:  # an unhashable static argument: plain jit (which says so in its own words)
            return None
        return self._keys[memo]

    def _disk_key(self, statics: tuple[Any, ...], tree: Any, avals: tuple[Any, ...]) -> str | None:
        parts = [f"critbench-exported/{_FORMAT}", f"{self.impl.__module__}.{self.impl.__qualname__}",
                 _package_hash(self.impl.__module__) or ""]
        for i, a in zip(self.static_argnums, statics):
            text = _static_part(a)
            if text is None:
                return None
            parts.append(f"s{i}={text}")
        parts.append(str(tree))
        parts += [f"{shape}:{dtype}" for shape, dtype in avals]
        import jaxlib

        parts += [jax.__version__, getattr(jaxlib, "__version__", "?"), jax.default_backend(),
                  str(jax.config.jax_enable_x64), str(jax.config.jax_default_matmul_precision)]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()

    def _flat(self, statics: tuple[Any, ...], in_tree: Any) -> tuple[Callable, list[Any]]:
        """``impl`` as a function of the flat traced leaves (the export's in/out are plain arrays);
        the second item receives the output tree when the function is traced."""
        static = dict(zip(self.static_argnums, statics))
        n_args = len(static) + len(jax.tree_util.treedef_children(in_tree))  # in_tree: the list of traced args
        out_tree_box: list[Any] = []

        def flat(*lv: Any) -> Any:
            it = iter(jax.tree_util.tree_unflatten(in_tree, lv))
            full = [static[i] if i in static else next(it) for i in range(n_args)]
            flat_out, tree = jax.tree_util.tree_flatten(self.impl(*full))
            out_tree_box.append(tree)
            return flat_out

        return flat, out_tree_box

    def _load_or_export(self, root: Path, key: str, statics: tuple[Any, ...], leaves: list[Any],
                        tree: Any) -> tuple[Callable, Any] | None:
        from jax import export

        path = root / f"{key}.bin"
        try:
            if path.is_file():
                blob = path.read_bytes()
                n = int.from_bytes(blob[:8], "little")
                out_tree = pickle.loads(blob[8:8 + n])
                exp = export.deserialize(bytearray(blob[8 + n:]))
            else:
                flat, box = self._flat(statics, tree)
                exp = export.export(jax.jit(flat))(*[_abstract(x) for x in leaves])
                out_tree = box[-1]
                tree_bytes = pickle.dumps(out_tree)
                root.mkdir(parents=True, exist_ok=True)
                tmp = root / f".{key}.{os.getpid()}.{threading.get_ident()}.tmp"
                tmp.write_bytes(len(tree_bytes).to_bytes(8, "little") + tree_bytes + bytes(exp.serialize()))
                os.replace(tmp, path)
        except Exception:  # noqa: BLE001 - any failure (callbacks, pickling, a torn file): plain jit
            return None
        return jax.jit(exp.call), out_tree
