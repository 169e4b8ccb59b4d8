"""SymPy (exact) and dense-NumPy certificates of the case library's ground truth.

A certificate re-derives a family's ground truth independently of any solver
and of the closed form it checks: it takes the claimed classes (loss, index,
nullity, representative point) and verifies them, returning a
:class:`Certificate` of named checks.  ``certify(name, **params)`` builds the case
from its parameters and hands it to the family's certificate
``certify(case, **options)``: the one its case module declares
(``CaseSpec(..., certificate="cases.certificates.<family>:certify")``, registry
:data:`CERTIFICATES`); third-party cases register theirs in the ``critbench.certificates``
entry-point group.
"""

from cases.registry import CERTIFICATES

from ._base import Certificate, Check, CertificateError, CertifyFn, certified_names, certify

__all__ = ["CERTIFICATES", "Certificate", "CertificateError", "CertifyFn", "Check", "certified_names", "certify"]
