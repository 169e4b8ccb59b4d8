"""Traced solver loops persisted with ``jax.export`` (``harness/jitcache/exported.py``).

A warm process must not trace again, the results must equal the plain
``jax.jit`` path bit for bit, and anything that could make a stored trace
stale (another option, another shape, a lambda loss, a torn file) must miss.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from harness.jitcache.compile_cache import enable_compile_cache
from harness.solvers import Problem, get_solver
from harness.jitcache.exported import SUBDIR, ExportedJit

TRACES: list[str] = []


@dataclasses.dataclass(frozen=True)
class Scale:
    factor: float = 2.0


def loss(theta, data):
    return jnp.sum((theta - data["c"]) ** 4)


def impl(opts, fn, x, data, n):
    TRACES.append("traced")
    g = jax.grad(fn)
    return jax.lax.fori_loop(0, n, lambda i, y: y - opts.factor * 1e-2 * g(y, data), x), {"n": jnp.int64(n)}


@pytest.fixture
def cache(tmp_path):
    enable_compile_cache(tmp_path / "cc")
    yield tmp_path / "cc" / SUBDIR
    enable_compile_cache("off")


def _files(d):
    return sorted(p.name for p in d.glob("*.bin")) if d.exists() else []


def test_second_instance_loads_the_trace_instead_of_tracing(cache):
    data = {"c": jnp.arange(3.0)}
    x = jnp.ones(3)
    first = ExportedJit(impl, static_argnums=(0, 1, 4))
    TRACES.clear()
    out1 = first(Scale(), loss, x, data, 7)
    assert TRACES and len(_files(cache)) == 1
    TRACES.clear()
    fresh = ExportedJit(impl, static_argnums=(0, 1, 4))  # what a new process sees
    out2 = fresh(Scale(), loss, x + 0.0, data, 7)
    assert TRACES == []  # loaded from disk, not traced
    plain = jax.jit(impl, static_argnums=(0, 1, 4))(Scale(), loss, x, data, 7)
    for a, b, c in zip(jax.tree_util.tree_leaves(out1), jax.tree_util.tree_leaves(out2),
                       jax.tree_util.tree_leaves(plain)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(c))
        np.testing.assert_array_equal(np.asarray(b), np.asarray(c))
    assert isinstance(out2, tuple) and set(out2[1]) == {"n"}  # output tree restored


def test_anything_the_trace_depends_on_changes_the_key(cache):
    data = {"c": jnp.arange(3.0)}
    f = ExportedJit(impl, static_argnums=(0, 1, 4))
    f(Scale(), loss, jnp.ones(3), data, 7)
    f(Scale(3.0), loss, jnp.ones(3), data, 7)  # another option
    f(Scale(), loss, jnp.ones(3), data, 8)  # another static int
    f(Scale(), loss, jnp.ones(4), {"c": jnp.arange(4.0)}, 7)  # another shape
    assert len(_files(cache)) == 4
    f(Scale(), lambda t, d: jnp.sum(t**2), jnp.ones(3), data, 7)  # a lambda: no stable key, plain jit
    assert len(_files(cache)) == 4


def test_a_torn_file_falls_back_to_jit(cache):
    data = {"c": jnp.arange(3.0)}
    ExportedJit(impl, static_argnums=(0, 1, 4))(Scale(), loss, jnp.ones(3), data, 7)
    (path,) = cache.glob("*.bin")
    path.write_bytes(path.read_bytes()[:40])
    out = ExportedJit(impl, static_argnums=(0, 1, 4))(Scale(), loss, jnp.ones(3), data, 7)
    ref = jax.jit(impl, static_argnums=(0, 1, 4))(Scale(), loss, jnp.ones(3), data, 7)
    np.testing.assert_array_equal(np.asarray(out[0]), np.asarray(ref[0]))


def test_cache_off_writes_nothing(tmp_path):
    enable_compile_cache("off")
    ExportedJit(impl, static_argnums=(0, 1, 4))(Scale(), loss, jnp.ones(3), {"c": jnp.arange(3.0)}, 7)
    assert not list(tmp_path.rglob("*.bin"))


@pytest.mark.parametrize("lanes", [None, 3])
def test_solver_loop_through_the_exported_path_equals_plain_jit(cache, lanes):
    """Newton-MR on the quartic, lockstep and refilling lanes: identical results with and without the cache."""
    from cases import get_case

    case = get_case("quartic")
    problem = Problem(case.loss_fn, case.data, case.dim)
    th = case.initial_points(3, 5)
    solver = get_solver("newton-mr")

    def solve():
        if lanes is None:
            return solver.solve(problem, th, max_iter=60, tol=1e-10)
        return solver.solve_refill(problem, th, max_iter=60, tol=1e-10, lanes=lanes)

    cached = solve()
    assert _files(cache)
    enable_compile_cache("off")
    plain = solve()
    for name in ("theta", "status", "n_iter", "hvps", "grads", "snapshots", "snapshot_iter", "max_r_theta",
                 "max_r_iter", "max_r_value"):
        np.testing.assert_array_equal(getattr(cached, name), getattr(plain, name), err_msg=name)
    for k in plain.trace:
        np.testing.assert_array_equal(cached.trace[k], plain.trace[k], err_msg=k)


# --------------------------------------------------------------------------- entries a worker could have written
def _plain(x, data, n=7):
    return jax.jit(impl, static_argnums=(0, 1, 4))(Scale(), loss, x, data, n)


def _assert_same(out, ref):
    for a, b in zip(jax.tree_util.tree_leaves(out), jax.tree_util.tree_leaves(ref), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def _payload(fn_impl, x, data, n=7):
    """The ``jax.export`` serialization of ``fn_impl``'s flat form, as the cache stores it."""
    from jax import export

    ej = ExportedJit(fn_impl, static_argnums=(0, 1, 4))
    statics, leaves, tree = ej._split((Scale(), loss, x, data, n))
    flat = ej._flat(statics, tree)[0]
    return bytes(export.export(jax.jit(flat))(*[jax.ShapeDtypeStruct(v.shape, v.dtype) for v in leaves]).serialize())


class _Touch:
    """Unpickling this creates ``path`` (what a worker's payload would do in the judge)."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_a_pickle_written_into_an_entry_is_never_unpickled(cache, tmp_path):
    """A worker rewrites ``<key>.bin`` with a length-prefixed pickle (the layout of the format before
    this one) whose loading creates a file: the reader never runs it (the marker stays absent) and
    the result is the plain path's."""
    import pickle

    data, x = {"c": jnp.arange(3.0)}, jnp.ones(3)
    ExportedJit(impl, static_argnums=(0, 1, 4))(Scale(), loss, x, data, 7)
    (path,) = cache.glob("*.bin")
    marker = tmp_path / "ran-in-the-judge"
    evil = pickle.dumps(_Touch(marker))
    blob = path.read_bytes()
    path.write_bytes(len(evil).to_bytes(8, "little") + evil + blob)
    out = ExportedJit(impl, static_argnums=(0, 1, 4))(Scale(), loss, x, data, 7)
    assert not marker.exists()
    _assert_same(out, _plain(x, data))


def test_a_payload_that_does_not_match_its_hash_falls_back_to_jit(cache):
    """One constant of the stored StableHLO rewritten (the step size 2.0 x 1e-2 -> 0): still a valid
    export, but the reader refuses it and computes the plain path's result, not the edited one's."""
    import struct

    data, x = {"c": jnp.arange(3.0)}, jnp.ones(3)
    ExportedJit(impl, static_argnums=(0, 1, 4))(Scale(), loss, x, data, 7)
    (path,) = cache.glob("*.bin")
    blob, step = path.read_bytes(), struct.pack("<d", 2.0 * 1e-2)
    assert blob.count(step) == 1  # the constant, stored as 8 raw bytes
    path.write_bytes(blob.replace(step, struct.pack("<d", 0.0)))
    out = ExportedJit(impl, static_argnums=(0, 1, 4))(Scale(), loss, x, data, 7)
    _assert_same(out, _plain(x, data))
    assert not np.array_equal(np.asarray(out[0]), np.asarray(x))  # the edited step would leave x unchanged


@pytest.mark.parametrize("tree", [{"set": ["*"]}, {"namedtuple": "os:stat_result", "fields": [], "items": []},
                                  {"tuple": ["*", {"dict": [[1, "*"]]}]}, {"tuple": ["*"]}, "**"])
def test_an_entry_with_an_unknown_or_wrong_output_tree_falls_back_to_jit(cache, tree):
    """A correctly hashed entry whose output tree names an unknown container, a class outside the
    key's packages, a non-str dict key, or the wrong number of leaves: plain jit, the same result."""
    from harness.jitcache import exported as _exported

    data, x = {"c": jnp.arange(3.0)}, jnp.ones(3)
    ExportedJit(impl, static_argnums=(0, 1, 4))(Scale(), loss, x, data, 7)
    (path,) = cache.glob("*.bin")
    path.write_bytes(_exported._entry_bytes(path.stem, tree, _payload(impl, x, data)))
    out = ExportedJit(impl, static_argnums=(0, 1, 4))(Scale(), loss, x, data, 7)
    _assert_same(out, _plain(x, data))
    assert isinstance(out, tuple) and set(out[1]) == {"n"}


def test_the_exported_cache_module_deserializes_nothing_but_json_and_jax_export():
    """No pickle (or marshal, dill, cloudpickle, shelve) is imported, and every ``.load``/``.loads``
    call is ``json``'s: the only ways an entry is read are ``json.loads`` and ``jax.export.deserialize``."""
    import ast
    from pathlib import Path

    from harness.jitcache import exported as _exported

    tree = ast.parse(Path(_exported.__file__).read_text())
    banned = {"pickle", "cPickle", "_pickle", "cloudpickle", "dill", "marshal", "shelve", "joblib"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            assert not {a.name.split(".")[0] for a in node.names} & banned
        if isinstance(node, ast.ImportFrom):
            assert (node.module or "").split(".")[0] not in banned
        if isinstance(node, ast.Attribute) and node.attr in ("load", "loads"):
            assert isinstance(node.value, ast.Name) and node.value.id == "json", ast.dump(node)
