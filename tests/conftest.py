"""Suite-wide configuration: Hypothesis profiles and float64."""

import os

import jax

jax.config.update("jax_enable_x64", True)

from hypothesis import HealthCheck, settings  # noqa: E402

# JIT compilation makes first calls slow: no deadline; bounded examples in CI.
settings.register_profile(
    "ci",
    deadline=None,
    max_examples=25,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "dev",
    deadline=None,
    max_examples=50,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

# critbench's own suite compiles a lot: the persistent compile cache (the pytest plugin turns it
# on only for sessions that use its fixtures, so it is enabled here explicitly).
from harness.jitcache.compile_cache import enable_compile_cache  # noqa: E402

try:
    enable_compile_cache()
except ValueError:  # an unwritable cache directory never fails the suite
    enable_compile_cache("off")
