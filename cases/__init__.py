"""critbench case library: losses with certified critical points.

Importing this package does not load JAX (the scorer, store and report use
:mod:`cases._core` only); every family module and :mod:`cases._numeric` enables
float64 in JAX (:mod:`cases._x64`) before it creates an array.
"""

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
    "register_case",
]
