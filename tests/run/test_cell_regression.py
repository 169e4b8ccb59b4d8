"""Records and stored arrays of a scorecard subset are unchanged (labelled regression fixture).

The fixture ``tests/run/data/cell_regression.json`` was produced by the code before the
cell/front-door rework (``python -m tests.run._cell_fixture``): built-in cells (one with a
non-default Newton-MR ``forcing``), a plug-in solver in a sandboxed worker, and
``harness.testing.run_records``.  Every record field except the provenance fields
(:data:`tests.run._cell_fixture.PROVENANCE_FIELDS`) and the SHA-256 of every stored array
must be identical.
"""

from __future__ import annotations

import json

import pytest

from tests.run._cell_fixture import FIXTURE, produce


@pytest.fixture(scope="module")
def facts(tmp_path_factory):
    return json.loads(json.dumps(produce(tmp_path_factory.mktemp("cells") / "out")))


@pytest.fixture(scope="module")
def expected():
    return json.loads(FIXTURE.read_text())


def _compare(got: list, want: list) -> None:
    assert [r["run_id"] for r in got] == [r["run_id"] for r in want]
    for g, w in zip(got, want):
        assert sorted(g) == sorted(w), g["run_id"]
        for key in w:
            assert g[key] == w[key], f"{g['run_id']}: {key}: {g[key]!r} != {w[key]!r}"


def test_stored_records_identical_except_provenance(facts, expected):
    _compare(facts["records"], expected["records"])


def test_stored_arrays_identical(facts, expected):
    assert facts["arrays"] == expected["arrays"]


def test_testing_records_identical_except_provenance(facts, expected):
    _compare(facts["testing_records"], expected["testing_records"])
