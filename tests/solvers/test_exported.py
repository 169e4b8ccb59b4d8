"""Traced solver loops persisted with ``jax.export`` (``harness/solvers/_exported.py``).

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

from harness.run.compile_cache import enable_compile_cache
from harness.solvers import Problem, get_solver
from harness.solvers._exported import SUBDIR, ExportedJit

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
