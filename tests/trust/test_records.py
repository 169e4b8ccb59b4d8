"""The run-record schema (harness/results/records.py): docs generated from it, stored results validated on load."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main
from harness.results.records import FIELDS_BY_NAME, OUTCOMES, RECORD_FIELDS, check_record, markdown_table

ROOT = Path(__file__).resolve().parents[2]


def _valid() -> dict:
    return {"run_id": "c/s/0/0", "batch_id": "b", "batch_row": 0, "case": "quartic", "case_key": "quartic-k",
            "solver": "s", "solver_key": "s-k", "seed": 0, "run_index": 0, "status": "converged",
            "outcome": "critical", "final_loss": "inf", "correct": None}


def test_design_doc_table_is_generated_from_the_schema():
    text = (ROOT / "docs" / "design.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- record-fields:begin -->\n(.*?)\n<!-- record-fields:end -->", text, re.S)
    assert block is not None, "docs/design.md lacks the record-fields block"
    assert block.group(1).strip() == markdown_table().strip(), "regenerate with: python -m harness.results.records"
    for outcome in OUTCOMES:  # the Outcomes section lists each one
        assert f"- `{outcome}` --" in text


def test_check_record_accepts_a_valid_record_and_names_what_is_wrong():
    assert check_record(_valid()) is None
    assert check_record({**_valid(), "future_field": [1]}) is None
    assert "missing required field(s) 'batch_id'" in check_record({"run_id": "x"})
    assert "'seed' must be int" in check_record({**_valid(), "seed": "0"})
    assert "'seed' must be int" in check_record({**_valid(), "seed": True})
    assert "'final_loss' must be float" in check_record({**_valid(), "final_loss": "abc"})
    assert "'outcome' must be one of" in check_record({**_valid(), "outcome": "great"})
    assert "not a JSON object" in check_record([1])
    assert all(f.doc and f.types for f in RECORD_FIELDS) and len(FIELDS_BY_NAME) == len(RECORD_FIELDS)


def test_score_on_a_bare_run_id_is_exit_2_naming_file_and_line(tmp_path, capsys):
    (tmp_path / "arrays").mkdir()
    (tmp_path / "runs.jsonl").write_text(json.dumps(_valid()) + "\n" + '{"run_id": "x"}\n')
    assert main(["score", str(tmp_path)]) == 2  # no runs.index: nothing here was written by critbench
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "there is no runs.index" in err and "--trust" in err
    assert main(["store", "reindex", str(tmp_path), "--trust"]) == 2  # vouching still validates every line
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert f"{tmp_path / 'runs.jsonl'}: line 2 is not a valid run record: missing required field" in err
    assert not (tmp_path / "runs.index").exists()


def test_report_without_arrays_is_exit_2(tmp_path, capsys):
    (tmp_path / "runs.jsonl").write_text(json.dumps(_valid()) + "\n")
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no arrays/ in" in err


def test_records_written_by_this_version_load(tmp_path):
    """A real run (honest and broken solvers) round-trips through the validating store."""
    from harness.run.runner import run_spec
    from harness.run.spec import RunSpec
    from harness.results.store import load_records

    for solver in ("newton", "five_entries", "Raiser"):
        run_spec(RunSpec("quartic", {}, f"tests.trust._attackers:{solver}", {}, 2, 0, max_iter=50), tmp_path)
    recs = load_records(tmp_path)
    assert sorted({r["outcome"] for r in recs}) == ["critical", "error", "invalid"]
    assert all(check_record(r) is None for r in recs)


def test_records_module_is_jax_free():
    code = "import sys, harness.results.records; assert 'jax' not in sys.modules and 'numpy' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


@pytest.mark.parametrize("name", ["run_id", "case", "solver", "seed", "run_index", "outcome"])
def test_required_fields_are_required(name):
    rec = _valid()
    del rec[name]
    assert f"'{name}'" in check_record(rec)
