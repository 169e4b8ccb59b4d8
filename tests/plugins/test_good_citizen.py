"""critbench in other projects' sessions (issue 20, "A good citizen"): the pytest plugin, loaded
through the ``pytest11`` entry point into every pytest session of the environment, changes
nothing unless its fixtures are used; a user's own ``cases`` folder that shadows critbench's
is named in one line.  Each check runs a fresh interpreter in a temporary project."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("JAX_", "CRITBENCH_", "PYTEST_", "HYPOTHESIS")) and k != "CI"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    return env


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=300)


def _project(tmp_path: Path, tests: str) -> Path:
    (tmp_path / "test_theirs.py").write_text(textwrap.dedent(tests), encoding="utf-8")
    return tmp_path


def test_an_unrelated_session_is_left_alone(tmp_path: Path) -> None:
    project = _project(tmp_path, """
        import os, sys

        def test_env():
            print("CACHE_DIR=" + str(os.environ.get("JAX_COMPILATION_CACHE_DIR")))
            print("MIN_TIME=" + str(os.environ.get("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS")))
            print("JAX_IMPORTED=" + str("jax" in sys.modules))
            print("CRITBENCH_LOADED=" + str("harness.pytest_plugin" in sys.modules))
        """)
    out = _run(["-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", "test_theirs.py"], project)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert "CRITBENCH_LOADED=True" in out.stdout  # the plugin is loaded (entry point) ...
    assert "CACHE_DIR=None" in out.stdout and "MIN_TIME=None" in out.stdout  # ... and changed nothing
    assert "JAX_IMPORTED=False" in out.stdout


def test_a_session_using_a_fixture_gets_the_compile_cache(tmp_path: Path) -> None:
    cache = tmp_path / "cc"
    project = _project(tmp_path, """
        def test_uses_critbench(critbench_runs, critbench_session):
            import jax
            print("CACHE_DIR=" + str(jax.config.jax_compilation_cache_dir))
            print("SESSION=" + str(critbench_session))
        """)
    out = _run(["-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", "--critbench-compile-cache", str(cache),
                "test_theirs.py"], project)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert f"CACHE_DIR={cache}" in out.stdout and f"SESSION={cache}" in out.stdout and cache.is_dir()


def _shadowing_project(tmp_path: Path) -> Path:
    (tmp_path / "cases").mkdir()
    (tmp_path / "cases" / "__init__.py").write_text("MY_OWN_CASES = True\n", encoding="utf-8")
    return tmp_path


def test_shadowing_cases_folder_is_named_by_the_cli(tmp_path: Path) -> None:
    project = _shadowing_project(tmp_path)
    out = _run(["-m", "harness.cli", "cases"], project)
    assert out.returncode == 2, out.stderr
    assert out.stderr == (f"critbench: error: the folder {project / 'cases'} shadows critbench's 'cases' package "
                          "(it is first on sys.path); rename it or run from another directory\n")


def test_shadowing_cases_folder_is_named_on_use_of_harness(tmp_path: Path) -> None:
    project = _shadowing_project(tmp_path)
    code = ("import harness\n"  # importing still works (so the CLI can say what is wrong)
            "try:\n    harness.score_run\nexcept ImportError as e:\n    print('ERR=' + str(e))\n")
    out = _run(["-c", code], project)
    assert out.returncode == 0, out.stderr
    assert f"ERR=the folder {project / 'cases'} shadows critbench's 'cases' package" in out.stdout


def test_shadowing_cases_folder_is_named_by_the_plugin(tmp_path: Path) -> None:
    project = _project(_shadowing_project(tmp_path), """
        def test_mine():
            import cases
            assert cases.MY_OWN_CASES  # their own package works as before

        def test_with_critbench(critbench_cases):
            pass
        """)
    out = _run(["-m", "pytest", "-q", "-p", "no:cacheprovider", "test_theirs.py"], project)
    assert out.returncode == 1, out.stdout[-3000:]
    assert "1 passed" in out.stdout and ("1 error" in out.stdout or "1 failed" in out.stdout), out.stdout[-3000:]
    assert f"critbench: the folder {project / 'cases'} shadows critbench's 'cases' package" in out.stdout
    assert "cannot import name" not in out.stdout
