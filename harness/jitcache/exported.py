"""Traced solver loops kept on disk, so a warm process skips Python tracing as well as XLA compilation.

JAX's persistent compilation cache (``harness.jitcache.compile_cache``) saves the XLA
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
callback, an output container outside the set below), the call goes to the
plain ``jax.jit`` function.  Results are the same executable either way:
``tests/solvers/test_exported.py`` checks them bit for bit.  Only ``jax`` and
the standard library are used (the bottom room :mod:`harness.jitcache`).

**Nothing in an entry can run code in the reading process** (the judge reads
these files too, through :mod:`harness.scoring.oracles`, and a plug-in's worker
may have written them).  An entry ``<key>.bin`` is::

    b"CBEXPORT" | header length (4 bytes, little endian) | header (JSON) | payload

The payload is ``jax.export``'s serialization (StableHLO, deserialized with
``jax.export.deserialize``, never executed as Python).  The JSON header holds the
format, the key, the SHA-256 of the payload and the output tree, encoded by
:func:`_encode_tree` from a fixed set of containers: arrays (leaves), ``None``,
``tuple``, ``list``, ``dict`` with ``str`` keys and named tuples.  A named tuple
is resolved by name only among modules already imported (never imported by the
loader) of the packages whose source is hashed into the key, and must be a
plain ``tuple`` subclass with the recorded ``_fields``.  A wrong magic, key or
hash, a truncated file, malformed JSON, an unknown tree node, or a payload whose
argument or result shapes disagree with the call: the entry is not used and
the call goes to the plain ``jax.jit`` function (never an exception).  The hash
detects corruption, not a writer that recomputes it: keep the cache directory
out of untrusted writers' reach.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
import threading
import types
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import jax

__all__ = ["ExportedJit", "SUBDIR"]

#: Subdirectory of JAX's compilation cache directory holding the exported traces.
SUBDIR = "critbench-exported"
_FORMAT = 2
_MAGIC = b"CBEXPORT"
_MAX_HEADER = 1 << 20  # bytes of JSON header (an output tree is a few hundred bytes)


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


class _Unsupported(Exception):
    """An output tree or cache entry outside what this module stores or trusts."""


def _encode_tree(out: Any) -> Any:
    """``out``'s tree structure as JSON (leaves ``"*"``); :class:`_Unsupported` for any other container."""
    if out is None:
        return None
    t = type(out)
    if t is tuple:
        return {"tuple": [_encode_tree(v) for v in out]}
    if t is list:
        return {"list": [_encode_tree(v) for v in out]}
    if t is dict:
        if not all(type(k) is str for k in out):
            raise _Unsupported("a dict key that is not a str")
        return {"dict": [[k, _encode_tree(out[k])] for k in sorted(out)]}
    if isinstance(out, tuple) and type(t) is type and isinstance(getattr(t, "_fields", None), tuple):
        if "<locals>" in t.__qualname__:
            raise _Unsupported("a named tuple defined in a function")
        return {"namedtuple": f"{t.__module__}:{t.__qualname__}", "fields": list(t._fields),
                "items": [_encode_tree(v) for v in out]}
    if jax.tree_util.treedef_is_leaf(jax.tree_util.tree_structure(out)):
        return "*"
    raise _Unsupported(f"output container {t.__qualname__}")


_LEAF = object()  # a placeholder leaf (an unregistered object is a pytree leaf)


def _named_tuple(name: Any, fields: Any, packages: frozenset[str]) -> type:
    """The named tuple class ``module:qualname``, looked up (never imported) among the modules of ``packages``."""
    if not isinstance(name, str) or name.count(":") != 1 or not isinstance(fields, list):
        raise _Unsupported("a malformed named tuple")
    module, qual = name.split(":")
    if module.split(".")[0] not in packages or module not in sys.modules:
        raise _Unsupported(f"named tuple {name} outside the key's packages")
    obj: Any = sys.modules[module]
    for part in qual.split("."):
        obj = vars(obj).get(part) if isinstance(obj, (type, types.ModuleType)) else None
    if not (type(obj) is type and issubclass(obj, tuple) and getattr(obj, "_fields", None) == tuple(fields)):
        raise _Unsupported(f"{name} is not a named tuple with the recorded fields")
    return obj


def _decode_tree(node: Any, packages: frozenset[str], depth: int = 0) -> Any:
    """A skeleton pytree (leaves :data:`_LEAF`) from :func:`_encode_tree`'s JSON; :class:`_Unsupported` otherwise."""
    if depth > 64:
        raise _Unsupported("an output tree nested too deeply")
    if node is None:
        return None
    if node == "*":
        return _LEAF
    if not isinstance(node, dict) or len(node) not in (1, 3):
        raise _Unsupported("an unknown tree node")
    sub = lambda items: [_decode_tree(v, packages, depth + 1) for v in items]  # noqa: E731
    if len(node) == 1 and isinstance(node.get("tuple"), list):
        return tuple(sub(node["tuple"]))
    if len(node) == 1 and isinstance(node.get("list"), list):
        return sub(node["list"])
    if len(node) == 1 and isinstance(node.get("dict"), list):
        pairs = node["dict"]
        if not all(isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) for p in pairs):
            raise _Unsupported("a malformed dict node")
        return {k: _decode_tree(v, packages, depth + 1) for k, v in pairs}
    if set(node) == {"namedtuple", "fields", "items"} and isinstance(node["items"], list):
        cls = _named_tuple(node["namedtuple"], node["fields"], packages)
        if len(node["items"]) != len(cls._fields):
            raise _Unsupported("a named tuple with the wrong number of items")
        return cls(*sub(node["items"]))
    raise _Unsupported("an unknown tree node")


def _entry_bytes(key: str, tree_json: Any, payload: bytes) -> bytes:
    """A cache entry (see the module docstring)."""
    header = json.dumps({"format": _FORMAT, "key": key, "sha256": hashlib.sha256(payload).hexdigest(),
                         "tree": tree_json}, separators=(",", ":")).encode()
    return _MAGIC + len(header).to_bytes(4, "little") + header + payload


def _parse_entry(blob: bytes, key: str, packages: frozenset[str]) -> tuple[Any, bytes]:
    """``(output treedef, payload)`` of a cache entry; :class:`_Unsupported` for anything not exactly as written."""
    if not blob.startswith(_MAGIC) or len(blob) < len(_MAGIC) + 4:
        raise _Unsupported("not a cache entry of this format")
    n = int.from_bytes(blob[len(_MAGIC):len(_MAGIC) + 4], "little")
    start = len(_MAGIC) + 4
    if n > _MAX_HEADER or start + n > len(blob):
        raise _Unsupported("a truncated header")
    header = json.loads(blob[start:start + n].decode("utf-8"))
    payload = blob[start + n:]
    if not isinstance(header, dict) or header.get("format") != _FORMAT or header.get("key") != key:
        raise _Unsupported("another format or key")
    if header.get("sha256") != hashlib.sha256(payload).hexdigest():
        raise _Unsupported("the payload does not match its hash")
    return jax.tree_util.tree_structure(_decode_tree(header.get("tree"), packages)), payload



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
        the second item receives ``(output treedef, its JSON encoding or None)`` when the function is traced."""
        static = dict(zip(self.static_argnums, statics))
        n_args = len(static) + len(jax.tree_util.treedef_children(in_tree))  # in_tree: the list of traced args
        out_tree_box: list[Any] = []

        def flat(*lv: Any) -> Any:
            it = iter(jax.tree_util.tree_unflatten(in_tree, lv))
            full = [static[i] if i in static else next(it) for i in range(n_args)]
            out = self.impl(*full)
            flat_out, tree = jax.tree_util.tree_flatten(out)
            try:
                encoded = _encode_tree(out)
            except _Unsupported:
                encoded = None
            out_tree_box.append((tree, encoded))
            return flat_out

        return flat, out_tree_box

    def _packages(self, statics: tuple[Any, ...]) -> frozenset[str]:
        """The top-level packages whose source is hashed into the key (where named tuples may come from)."""
        mods = [self.impl.__module__]
        for a in statics:
            mods += [a.__module__] if callable(a) and not isinstance(a, type) and hasattr(a, "__qualname__") else [
                c.__module__ for c in type(a).__mro__ if c.__module__ not in ("builtins", "abc", "typing")]
        return frozenset(m.split(".")[0] for m in mods)

    def _load_or_export(self, root: Path, key: str, statics: tuple[Any, ...], leaves: list[Any],
                        tree: Any) -> tuple[Callable, Any] | None:
        """The stored entry for ``key`` (checked as the module docstring says), else a fresh export
        written for later processes; None: use the plain ``jax.jit`` function."""
        from jax import export

        path = root / f"{key}.bin"
        try:
            if path.is_file():
                out_tree, payload = _parse_entry(path.read_bytes(), key, self._packages(statics))
                exp = export.deserialize(bytearray(payload))
                ins = [(tuple(a.shape), a.dtype) for a in exp.in_avals]
                if ins != [_aval(x) for x in leaves] or len(exp.out_avals) != out_tree.num_leaves:
                    raise _Unsupported("the payload's shapes disagree with the call")
            else:
                flat, box = self._flat(statics, tree)
                exp = export.export(jax.jit(flat))(*[_abstract(x) for x in leaves])
                out_tree, encoded = box[-1]
                packages = self._packages(statics)
                if encoded is None or jax.tree_util.tree_structure(_decode_tree(encoded, packages)) != out_tree:
                    raise _Unsupported("an output tree this format cannot store")
                root.mkdir(parents=True, exist_ok=True)
                tmp = root / f".{key}.{os.getpid()}.{threading.get_ident()}.tmp"
                tmp.write_bytes(_entry_bytes(key, encoded, bytes(exp.serialize())))
                os.replace(tmp, path)
        except Exception:  # noqa: BLE001 - any failure (callbacks, a torn, foreign or unknown entry): plain jit
            return None
        return jax.jit(exp.call), out_tree
