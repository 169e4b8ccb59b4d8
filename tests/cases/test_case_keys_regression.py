"""Run ids do not move when the case registry changes (issue 31): every built-in case's key at its default
parameters and at its ``small_params``, and the certificate its name runs, equal the labelled regression
fixture ``fixtures/case_keys_main_f7d30a2.json`` (computed once with main at f7d30a2, before case modules
were found by their files)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import cases
from cases.certificates import CERTIFICATES, certified_names
from harness.run.keys import case_key

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "case_keys_main_f7d30a2.json").read_text())["cases"]


def test_the_same_cases_and_certified_cases() -> None:
    assert cases.case_names() == sorted(FIXTURE)
    assert certified_names() == sorted(n for n, row in FIXTURE.items() if row["certificate"])


@pytest.mark.parametrize("name", sorted(FIXTURE))
def test_case_keys_and_certificate_unchanged(name: str) -> None:
    spec = cases.case_spec(name)
    assert case_key(cases.get_case(name)) == FIXTURE[name]["default"]
    assert case_key(cases.get_case(name, **spec.small_params)) == FIXTURE[name]["small"]
    assert CERTIFICATES.reference(name) == FIXTURE[name]["certificate"]
