"""``critbench cases dlae --class S``: the lazy ground truth answers for one class."""

from __future__ import annotations

import json
import math

from harness.cli import main


def test_cases_class_big_count_and_one_class(capsys):
    assert main(["cases", "dlae", "--param", "k=300", "--param", "p=60", "--param", "n=400",
                 "--class", "0,1,5"]) == 0
    out = capsys.readouterr().out
    count = sum(math.comb(300, r) for r in range(61))
    assert f"{count} critical classes" in out
    # index: (5 - 2) swaps + (60 - 3)(300 - 3) idle-unit directions; nullity 3 (2 * 60 - 3)
    assert "class S={0,1,5}:" in out and f"index_count={3 + 57 * 297} " in out and "nullity=351" in out


def test_cases_class_json(capsys):
    assert main(["cases", "dlae", "--param", "k=6", "--param", "p=2", "--json", "--class", "0"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["class"]["label"] == "S={0}" and payload["class"]["index_count"] == 5  # (p - r)(k - r)
    assert payload["ground_truth"]["n_classes"] == 1 + 6 + 15


def test_cases_bad_class_is_one_line_error(capsys):
    assert main(["cases", "dlae", "--param", "k=6", "--param", "p=2", "--class", "0,1,2"]) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1 and "--class" in err
    assert main(["cases", "dlae", "--param", "k=6", "--param", "p=2", "--class", "x"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--class" in err
