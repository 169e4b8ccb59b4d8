"""The :class:`Certificate` record and the dispatcher :func:`certify`.

Which certificate a case name runs is held by :data:`cases.registry.CERTIFICATES` (entry-point
group ``critbench.certificates``): a built-in case's certificate is the one its module declares
(``CaseSpec(..., certificate="module:attr")``), read from the file without importing it."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any

from cases._registry import load_ref
from cases.registry import CASES, CERTIFICATES, CaseError, case_spec, get_case


class CertificateError(AssertionError):
    """A certificate check failed."""


@dataclasses.dataclass(frozen=True)
class Check:
    """One verified (or refuted) claim, e.g. ``"grad(S={0,2}) == 0"``."""

    name: str
    passed: bool
    detail: str = ""


@dataclasses.dataclass(frozen=True)
class Certificate:
    """The outcome of certifying one case instance.

    Attributes:
        case: family name.
        params: the instance's parameters.
        method: ``"sympy"`` (exact arithmetic) or ``"dense-numpy"``.
        checks: every claim checked.
    """

    case: str
    params: dict[str, Any]
    method: str
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]

    def raise_if_failed(self) -> "Certificate":
        if not self.checks:
            raise CertificateError(f"certificate for {self.case!r} checked nothing")
        if self.failures:
            msg = "; ".join(f"{c.name}: {c.detail}" for c in self.failures[:5])
            raise CertificateError(f"certificate for {self.case!r} failed {len(self.failures)} check(s): {msg}")
        return self


#: A certificate: ``certify(case, **options) -> Certificate``.  It takes the *case* (built
#: by :func:`certify` from the case's own parameters, so it never repeats them) and
#: certificate-only options (e.g. ``claimed=`` a perturbed ground truth to reject).
CertifyFn = Callable[..., Certificate]


def certified_names() -> list[str]:
    """Names of the case families that have a certificate (imports nothing): the built-ins that
    declare one, in-process registrations and the ``critbench.certificates`` entry points."""
    return CERTIFICATES.names()


def _certificate_of(name: str) -> CertifyFn:
    """The certificate of case ``name``: its registry entry, else the ``certificate=`` its
    :class:`cases.CaseSpec` names (a plug-in case's own declaration)."""
    if name in CERTIFICATES:
        return CERTIFICATES.get(name)
    plugin = name in CASES and not CASES.is_builtin(name)  # a built-in's declaration is in CERTIFICATES already
    ref = getattr(case_spec(name), "certificate", None) if plugin else None
    if not ref:
        raise CaseError(f"no certificate for case {name!r}; certified cases: {', '.join(certified_names())}")
    return load_ref(ref, what=f"certificate of case {name!r}", error=CaseError)


def certify(name: str, **kwargs: Any) -> Certificate:
    """Run the certificate of case family ``name``.

    ``kwargs`` holds the case's parameters (any of :meth:`cases.CaseSpec.defaults`; the
    rest take their defaults) and the certificate's own options; the case is built once,
    by :func:`cases.get_case`, and handed to the certificate.

    Raises:
        CaseError: no certificate for ``name`` (one line listing the certified families),
            bad case parameters, or an option the certificate does not take.
    """
    fn = _certificate_of(name)
    defaults = case_spec(name).defaults()
    params = {k: v for k, v in kwargs.items() if k in defaults}
    options = {k: v for k, v in kwargs.items() if k not in defaults}
    accepted = inspect.signature(fn).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values())
    bad = sorted(k for k in options if k not in accepted and not takes_any)
    if bad:
        valid = sorted([*defaults, *(k for k in list(accepted)[1:])])
        raise CaseError(f"certificate {name!r}: unknown parameter(s) {', '.join(bad)}; valid: {', '.join(valid)}")
    return fn(get_case(name, **params), **options)
