"""SymPy (exact) and dense-NumPy certificates of the case library's ground truth.

A certificate re-derives a family's ground truth independently of any solver
and of the closed form it checks: it takes the claimed classes (loss, index,
nullity, representative point) and verifies them, returning a
:class:`Certificate` of named checks.  ``certify(name, **params)`` dispatches
to ``cases.certificates.<module>.certify``.
"""

from ._base import Certificate, Check, CertificateError, certify

__all__ = ["Certificate", "CertificateError", "Check", "certify"]
