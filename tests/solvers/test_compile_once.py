"""Compile once per shape: a second solve / cell with the same shapes compiles nothing, and the
persistent cache (harness.jitcache.compile_cache) is configured by flag > environment > user default."""

import numpy as np
import pytest

from harness.jitcache.compile_cache import ENV_VAR, CompileCounter, default_cache_dir, enable_compile_cache, resolve_cache_dir


def test_second_run_of_the_same_shapes_does_not_recompile(tmp_path):
    import jax

    from cases import get_case
    from harness.run.runner import run_spec
    from harness.run.spec import RunSpec
    from harness.solvers import Problem, get_solver

    case = get_case("quartic")
    problem = Problem(case.loss_fn, case.data, case.dim)
    solver = get_solver("newton-mr")
    with CompileCounter() as first:
        solver.solve(problem, case.initial_points(0, 4), max_iter=50, tol=1e-10)
        solver.solve_refill(problem, case.initial_points(0, 6), max_iter=50, tol=1e-10, lanes=3)
    assert first.compiles >= 1  # the counter sees compilations (fresh shapes)
    data2 = jax.tree_util.tree_map(lambda x: x * 1.0, case.data)  # new arrays, same shapes and types
    with CompileCounter() as second:
        # other seed, other tol, other data objects, a fresh solver object with equal options
        solver2 = get_solver("newton-mr")
        solver2.solve(Problem(case.loss_fn, data2, case.dim), case.initial_points(5, 4), max_iter=50, tol=1e-8)
        solver2.solve_refill(problem, case.initial_points(5, 6), max_iter=50, tol=1e-8, lanes=3)
    assert second.compiles == 0

    # whole cells through the runner (solve, harness oracles, scoring): a second seed compiles nothing
    run_spec(RunSpec("quartic", {}, "newton-mr", {}, 6, 0, max_iter=50, batch_size=3), tmp_path / "a")
    with CompileCounter() as cell:
        run_spec(RunSpec("quartic", {}, "newton-mr", {}, 6, 1, max_iter=50, batch_size=3), tmp_path / "b")
    assert cell.compiles == 0


def test_cache_directory_flag_beats_environment_beats_default(monkeypatch, tmp_path):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert resolve_cache_dir() == default_cache_dir()
    assert "critbench" in str(default_cache_dir())
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "env"))
    assert resolve_cache_dir() == tmp_path / "env"
    assert resolve_cache_dir(tmp_path / "flag") == tmp_path / "flag"
    assert resolve_cache_dir("off") is None
    monkeypatch.setenv(ENV_VAR, "OFF")
    assert resolve_cache_dir() is None
    assert resolve_cache_dir(str(tmp_path / "flag")) == tmp_path / "flag"


def test_persistent_cache_serves_a_fresh_process_view(tmp_path):
    """After the in-memory caches are cleared, the executable comes from the cache directory."""
    import jax
    import jax.numpy as jnp

    before = jax.config.jax_compilation_cache_dir
    try:
        assert enable_compile_cache(tmp_path / "cc") == tmp_path / "cc"
        f = jax.jit(lambda x: jnp.sin(x) * 3.0 + jnp.cos(x) ** 2 - 0.123456)
        x = jnp.arange(7.0)
        f(x).block_until_ready()
        assert any((tmp_path / "cc").iterdir())  # written
        jax.clear_caches()
        with CompileCounter() as cc:
            f(x).block_until_ready()
        assert cc.cache_hits >= 1
        assert enable_compile_cache("off") is None
        assert jax.config.jax_compilation_cache_dir is None
    finally:
        enable_compile_cache(before if before else "off")


def test_unwritable_cache_directory_is_a_one_line_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ValueError, match="cannot create the compile cache directory"):
        enable_compile_cache(blocker / "sub")
