"""Certificates take their case instead of repeating its parameters (issue 20): the dispatcher
``certify(name, **params)`` builds the case once from the case's own parameters and hands it over."""

from __future__ import annotations

import inspect

import pytest

from cases import CaseError, case_names, case_spec
from cases.certificates import CERTIFICATES, certified_names, certify


@pytest.mark.parametrize("name", certified_names())
def test_certificate_takes_the_case_and_repeats_none_of_its_parameters(name: str) -> None:
    params = inspect.signature(CERTIFICATES.get(name)).parameters
    first, *rest = params.values()
    assert first.name == "case" and first.default is inspect.Parameter.empty
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in rest), "certificate options are keyword-only"
    repeated = set(params) & set(case_spec(name).defaults())
    assert not repeated, f"certificate of {name!r} repeats case parameters {sorted(repeated)}"


def test_every_certified_name_is_a_case() -> None:
    assert set(certified_names()) <= set(case_names())


def test_certificate_records_the_complete_case_parameters() -> None:
    cert = certify("example-1.1", init_scale=0.5)
    assert cert.ok and cert.params == {"init_scale": 0.5} and cert.case == "example-1.1"


@pytest.mark.parametrize("kwargs, message", [
    ({"bogus": 1}, "certificate 'example-1.1': unknown parameter(s) bogus; valid: claimed, init_scale"),
    ({"init_scale": -1.0}, "case 'example-1.1': "),
])
def test_bad_arguments_are_one_line_case_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(CaseError) as info:
        certify("example-1.1", **kwargs)
    assert str(info.value).startswith(message) and "\n" not in str(info.value)


def test_unknown_certificate_names_the_certified_cases() -> None:
    with pytest.raises(CaseError, match=r"^no certificate for case 'swish-mlp'; certified cases: deep-linear, "):
        certify("swish-mlp")
