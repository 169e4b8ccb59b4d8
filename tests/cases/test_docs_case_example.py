"""The worked example of ``docs/plugins.md`` ("Adding a certified case"), run from the page itself:
its two files are written to a temporary package, its ``pyproject.toml`` entry points are
published through a fake ``importlib.metadata``, and the case and its certificate are used
through critbench's registries.  Ground truth is checked independently of the certificate by
dense NumPy (JAX autodiff Hessians, ``numpy.linalg.eigvalsh``)."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from tests.plugins._entry_points import fake_entry_points as _fake_entry_points

DOC = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"


def documented_files() -> dict[str, str]:
    """``{path: source}`` of every fenced block preceded by ``<!-- file: PATH -->``."""
    text = DOC.read_text(encoding="utf-8")
    return {m.group(1): m.group(2) for m in re.finditer(r"<!-- file: (\S+) -->\n```\w*\n(.*?)\n```", text, re.S)}


@pytest.fixture
def double_well(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    files = documented_files()
    assert {"mycases/double_well.py", "mycases/double_well_certificate.py", "pyproject.toml"} <= set(files)
    for rel, src in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(src + "\n", encoding="utf-8")
    (tmp_path / "mycases" / "__init__.py").write_text("", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    for mod in [m for m in sys.modules if m == "mycases" or m.startswith("mycases.")]:
        monkeypatch.delitem(sys.modules, mod)
    gen = _fake_entry_points(monkeypatch)
    publish = next(gen)
    groups = tomllib.loads(files["pyproject.toml"])["project"]["entry-points"]
    for group, eps in groups.items():
        for name, value in eps.items():
            publish(group, name, value)
    yield
    next(gen, None)


def test_documented_case_is_listed_built_and_certified(double_well: None) -> None:
    from cases import case_names, get_case
    from cases.certificates import certified_names, certify

    assert "double-well" in case_names() and "double-well" in certified_names()
    for a in (1.0, 2.0, 0.3):
        cert = certify("double-well", a=a)
        assert cert.ok, cert.failures
        assert cert.params == {"a": a} and len(cert.checks) >= 12
    assert get_case("double-well", a=2.0).ground_truth.classes[2].loss == 4.0


def test_documented_certificate_rejects_a_perturbed_claim(double_well: None) -> None:
    import dataclasses

    from cases import GroundTruth, get_case
    from cases.certificates import certify

    gt = get_case("double-well").ground_truth
    bad_index = [dataclasses.replace(c, index_count=0) if c.label == "saddle" else c for c in gt.classes]
    assert not certify("double-well", claimed=GroundTruth(bad_index, gt.flat_points)).ok
    assert not certify("double-well", claimed=GroundTruth(gt.classes, gt.flat_points[:1])).ok  # a missing flat point
    bad_type = [dataclasses.replace(f, stationary_type="minimum") for f in gt.flat_points]
    assert not certify("double-well", claimed=GroundTruth(gt.classes, bad_type)).ok


def test_documented_ground_truth_agrees_with_dense_numpy(double_well: None) -> None:
    from cases import get_case
    from cases._numeric import dense_gradient, dense_hessian, inertia

    case = get_case("double-well", a=2.0)
    for cls in case.ground_truth.classes:
        g = dense_gradient(case.loss_fn, cls.point, case.data)
        neg, zero, _ = inertia(np.linalg.eigvalsh(dense_hessian(case.loss_fn, cls.point, case.data)))
        assert float(g @ g) < 1e-24 and (neg, zero) == (cls.index_count, cls.nullity)
        assert abs(float(case.loss_fn(cls.point, case.data)) - cls.loss) < 1e-12
    for fp in case.ground_truth.flat_points:
        g = dense_gradient(case.loss_fn, fp.point, case.data)
        hg = dense_hessian(case.loss_fn, fp.point, case.data) @ g
        assert abs(float(g @ g) - fp.grad_norm_sq) < 1e-10 and float(hg @ hg) < 1e-20
    assert case.sample_init(np.random.default_rng(0), 5).shape == (5, 2)


def test_documented_cli_listing(double_well: None, capsys: pytest.CaptureFixture[str]) -> None:
    from harness.cli import main

    assert main(["cases", "double-well", "--param", "a=2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("double-well: dim=2 params={'a': 2.0}") and "3 critical classes, 2 gradient-flat points" in out
