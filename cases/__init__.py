"""critbench case library: losses with certified critical points.

Names are re-exported lazily (:func:`cases._registry.lazy_exports`, PEP 562):
importing this package does not load JAX (the scorer, store and report use
:mod:`cases._core` only), and listing cases imports no family module; every family
module and :mod:`cases._numeric` enables float64 in JAX (:mod:`cases._x64`) before it
creates an array.
"""

from ._registry import lazy_exports

_EXPORTS = {
    **dict.fromkeys(
        ["CRITICAL_GRAD_SQ", "INDEX_EIG_TOL", "Case", "CriticalClass", "GradientFlatPoint", "GroundTruth"],
        "cases._core",
    ),
    **dict.fromkeys(
        ["CASES", "CaseError", "CaseSpec", "case_names", "case_spec", "get_case", "register_case"],
        "cases.registry",
    ),
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
