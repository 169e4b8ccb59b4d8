"""critbench pytest plugin (entry point ``pytest11``): fixtures and options for
validating critical-point finders against certified ground truth.

Loaded in every pytest run of an environment where critbench is installed, so it is
a good citizen: importing it is cheap (JAX and the harness are imported inside the
fixtures), and a session that uses none of its fixtures is left exactly as it was
(no hooks beyond the options; the compile cache is turned on by the session fixture
``critbench_session`` the first time a critbench fixture is used).

Options::

    --critbench-runs N        runs per check (default 8)
    --critbench-cases a,b     cases the ``critbench_cases`` fixture yields
                              (default: example-1.1,quartic)
    --critbench-seed S        seed of the initial points (default 0)
    --critbench-compile-cache DIR|off
                              JAX persistent compilation cache (default:
                              $CRITBENCH_COMPILE_CACHE, else the user cache
                              directory; see harness.jitcache.compile_cache),
                              applied when a critbench fixture is first used

Fixtures:

* ``critbench_session`` (session scope; every fixture below uses it): checks that
  ``cases`` is critbench's and turns the compile cache on;
* ``critbench_runs`` (int), ``critbench_seed`` (int), ``critbench_cases``
  (list of case names);
* ``critbench_check``: :func:`harness.testing.assert_finds_ground_truth` with
  ``runs`` and ``seed`` bound to the options (keywords still override); other
  keywords are case parameters::

      def test_my_solver(critbench_check, critbench_cases):
          for case in critbench_cases:
              critbench_check("mypkg.solvers:MySolver", case)
          critbench_check("mypkg.solvers:MySolver", "dlae", k=6, p=2, n=500)  # a small DLAE

Bad option values (``--critbench-runs 0``, an unknown name in ``--critbench-cases``)
stop the session at start-up with one line (``pytest_configure``), not a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

DEFAULT_RUNS = 8
DEFAULT_SEED = 0
DEFAULT_CASES = "example-1.1,quartic"


def pytest_configure(config: pytest.Config) -> None:
    """Check the critbench options that were given (one line, ``pytest.UsageError``, no traceback).

    Nothing is imported unless ``--critbench-cases`` is given (its names are checked
    against the case registry); a session without critbench options is left as it was.
    """
    runs, seed = config.getoption("critbench_runs", default=None), config.getoption("critbench_seed", default=None)
    if runs is not None and runs < 1:
        raise pytest.UsageError(f"--critbench-runs must be >= 1, got {runs}")
    if seed is not None and seed < 0:
        raise pytest.UsageError(f"--critbench-seed must be >= 0, got {seed}")
    given = config.getoption("critbench_cases", default=None)
    if given is not None:
        _case_list(given)


def _case_list(text: str) -> list[str]:
    """Names of ``--critbench-cases``, checked against the case registry (``pytest.UsageError`` otherwise)."""
    names = [c.strip() for c in str(text).split(",") if c.strip()]
    if not names:
        raise pytest.UsageError("--critbench-cases is empty")
    from harness._shadow import shadowing_message

    msg = shadowing_message("cases")
    if msg is not None:
        raise pytest.UsageError(f"critbench: {msg}")
    from cases import case_names

    known = set(case_names())
    unknown = [n for n in names if n not in known]
    if unknown:
        raise pytest.UsageError(f"--critbench-cases: unknown case(s) {', '.join(unknown)}; "
                                f"valid: {', '.join(sorted(known))}")
    return names


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("critbench", "critbench: critical-point finder validation")
    group.addoption("--critbench-runs", type=int, default=None, metavar="N",
                    help=f"runs per critbench check (default {DEFAULT_RUNS})")
    group.addoption("--critbench-cases", default=None, metavar="A,B",
                    help=f"comma-separated case names for the critbench_cases fixture (default {DEFAULT_CASES})")
    group.addoption("--critbench-seed", type=int, default=None, metavar="S",
                    help=f"seed of the initial points (default {DEFAULT_SEED})")
    group.addoption("--critbench-compile-cache", default=None, metavar="DIR|off",
                    help="JAX persistent compilation cache directory or 'off' "
                         "(default: $CRITBENCH_COMPILE_CACHE, else the user cache directory)")


@pytest.fixture(scope="session")
def critbench_session(request: pytest.FixtureRequest) -> Path | None:
    """Set up critbench for the session the first time a critbench fixture is used: check
    that ``cases`` is critbench's (a user's own ``cases/`` folder first on ``sys.path`` fails
    the test with one line naming it), then turn JAX's persistent compilation cache on
    (``--critbench-compile-cache``).  Sessions that use no critbench fixture are left as
    they were: no environment variable, no JAX setting, no import of JAX or the harness.

    Returns the compile cache directory in use (``None``: off or not writable)."""
    from harness._shadow import shadowing_message

    msg = shadowing_message("cases")
    if msg is not None:
        pytest.fail(f"critbench: {msg}", pytrace=False)
    from harness.jitcache.compile_cache import enable_compile_cache

    try:
        return enable_compile_cache(request.config.getoption("critbench_compile_cache", default=None))
    except ValueError:  # an unwritable cache never fails a test session
        return enable_compile_cache("off")


def _opt(config: pytest.Config, name: str, default: Any) -> Any:
    value = config.getoption(name, default=None)
    return default if value is None else value


@pytest.fixture
def critbench_runs(request: pytest.FixtureRequest, critbench_session: Path | None) -> int:
    """Runs per check (``--critbench-runs``)."""
    runs = int(_opt(request.config, "critbench_runs", DEFAULT_RUNS))
    if runs < 1:
        raise pytest.UsageError(f"--critbench-runs must be >= 1, got {runs}")
    return runs


@pytest.fixture
def critbench_seed(request: pytest.FixtureRequest, critbench_session: Path | None) -> int:
    """Seed of the initial points (``--critbench-seed``)."""
    seed = int(_opt(request.config, "critbench_seed", DEFAULT_SEED))
    if seed < 0:
        raise pytest.UsageError(f"--critbench-seed must be >= 0, got {seed}")
    return seed


@pytest.fixture
def critbench_cases(request: pytest.FixtureRequest, critbench_session: Path | None) -> list[str]:
    """Case names from ``--critbench-cases`` (validated against the case registry)."""
    return _case_list(_opt(request.config, "critbench_cases", DEFAULT_CASES))


@pytest.fixture
def critbench_check(critbench_runs: int, critbench_seed: int) -> Callable[..., list[dict[str, Any]]]:
    """``assert_finds_ground_truth`` with ``runs``/``seed`` bound to the command-line options.

    ``check(solver, case, **kwargs)``: keywords of ``assert_finds_ground_truth``
    (``runs``, ``seed``, ``min_success``, ``max_iter``, ``case_params``, ...) go to it;
    any other keyword is a case parameter, e.g. ``check(solver, "dlae", k=6, p=2, n=500)``
    (merged into ``case_params``; the case registry rejects unknown ones in one line).
    """
    import inspect

    from harness.testing import assert_finds_ground_truth

    own = set(inspect.signature(assert_finds_ground_truth).parameters)

    def check(solver: Any, case: Any, **kwargs: Any) -> list[dict[str, Any]]:
        params = {k: kwargs.pop(k) for k in list(kwargs) if k not in own}
        if params:
            kwargs["case_params"] = {**(kwargs.get("case_params") or {}), **params}
        kwargs.setdefault("runs", critbench_runs)
        kwargs.setdefault("seed", critbench_seed)
        return assert_finds_ground_truth(solver, case, **kwargs)

    return check
