"""critbench case library: losses with certified critical points.

Importing this package enables float64 in JAX before any array is created.
"""

import jax

jax.config.update("jax_enable_x64", True)

from ._core import (  # noqa: E402
    CRITICAL_GRAD_SQ,
    INDEX_EIG_TOL,
    Case,
    CriticalClass,
    GradientFlatPoint,
    GroundTruth,
)
from .registry import (  # noqa: E402
    CaseError,
    CaseSpec,
    case_names,
    case_spec,
    get_case,
    parse_params,
    register_case,
)

__all__ = [
    "CRITICAL_GRAD_SQ",
    "INDEX_EIG_TOL",
    "Case",
    "CaseError",
    "CaseSpec",
    "CriticalClass",
    "GradientFlatPoint",
    "GroundTruth",
    "case_names",
    "case_spec",
    "get_case",
    "parse_params",
    "register_case",
]
