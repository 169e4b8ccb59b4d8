"""A built-in certified case is found by its file (issue 31): a module of ``cases/`` that declares
``ATTR = CaseSpec("name", factory, ..., certificate="module:attr")`` is listed, built and certified with
no edit anywhere else, and the certificate a built-in declares is the one its name runs."""

from __future__ import annotations

import inspect
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import cases
from cases import CaseError
from cases._discover import Declaration, read_declarations, scan
from cases._registry import load_ref
from cases.certificates import CERTIFICATES, certified_names, certify
from cases.registry import CASES, builtin_declarations
from tests.plugins._entry_points import fake_entry_points as _fake_entry_points

ROOT = Path(__file__).resolve().parents[2]

# A new certified family, written as a contributor would: one case module and one certificate module.
RING_CASE = '''
    """A ring of minima ``(|θ|² - r²)²`` in the plane (a new built-in family, issue 31's test)."""
    from . import _x64  # noqa: F401
    import jax.numpy as jnp
    import numpy as np

    from ._core import Case, CriticalClass, GroundTruth
    from .registry import CaseSpec

    NAME = "ring"


    def loss_fn(theta, data):
        return (theta @ theta - data["r2"]) ** 2


    def make_ring(radius: float = 1.0) -> Case:
        if not radius > 0:
            raise ValueError(f"radius must be > 0, got {radius}")
        gt = GroundTruth(classes=(
            CriticalClass("ring", 0.0, 0, 1, 2, point=np.array([radius, 0.0])),
            CriticalClass("origin", radius**4, 2, 0, 2, point=np.zeros(2)),  # H = -4r² I
        ))
        return Case(NAME, {"radius": radius}, 2, loss_fn, {"r2": jnp.float64(radius**2)},
                    lambda rng, n: rng.normal(size=(n, 2)), gt)


    CASE = CaseSpec(
        NAME,
        make_ring,
        description="ring of minima (|θ|² - r²)²",
        ground_truth_kind="exact",
        certificate="cases.certificates.ring:certify",
    )
    '''

RING_CERTIFICATE = '''
    """Closed-form certificate of the ring: ∇L = 4(|θ|² - r²)θ vanishes on the ring and at the origin."""
    import numpy as np

    from ._base import Certificate, Check


    def certify(case, *, claimed=None):
        gt = claimed if claimed is not None else case.ground_truth
        r2 = case.params["radius"] ** 2
        checks = []
        for cls in gt.classes:
            p = np.asarray(cls.point)
            grad = 4 * (p @ p - r2) * p
            checks.append(Check(f"{cls.label}: gradient 0", bool(np.all(grad == 0)), f"grad {grad.tolist()}"))
            checks.append(Check(f"{cls.label}: loss", cls.loss == (p @ p - r2) ** 2))
        return Certificate(case.name, dict(case.params), "closed-form", tuple(checks))
    '''

PROBE = '''
import json, sys
import cases
from cases.certificates import certified_names, certify
from cases.registry import builtin_declarations
names, certified = cases.case_names(), certified_names()
listed_lazily = not {"cases.ring", "cases.certificates.ring", "jax"} & set(sys.modules)
case = cases.get_case("ring", radius=2.0)
cert = certify("ring", radius=2.0)
from cases import GroundTruth, CriticalClass
import numpy as np
bad = GroundTruth((CriticalClass("ring", 0.0, 0, 1, 2, point=np.array([1.5, 0.0])),))
print(json.dumps({"file": cases.__file__, "names": names, "certified": certified, "lazy": listed_lazily,
                  "dim": case.dim, "params": dict(case.params), "ok": cert.ok, "checks": len(cert.checks),
                  "method": cert.method, "rejects": not certify("ring", claimed=bad).ok,
                  "ref": builtin_declarations()["ring"].ref}))
'''


@pytest.fixture(scope="module")
def cases_with_a_new_family(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of critbench's two packages (``cases`` beside ``harness``, as the CLI requires) plus two added
    files, nothing else edited; the repository is untouched."""
    root = tmp_path_factory.mktemp("added")
    for package in ("cases", "harness"):
        shutil.copytree(ROOT / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "cases" / "ring.py").write_text(textwrap.dedent(RING_CASE), encoding="utf-8")
    (root / "cases" / "certificates" / "ring.py").write_text(textwrap.dedent(RING_CERTIFICATE), encoding="utf-8")
    return root


def _run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(ROOT)])}
    return subprocess.run([sys.executable, *args], cwd=root, env=env, capture_output=True, text=True, timeout=300)


def test_a_new_certified_case_needs_only_its_two_files(cases_with_a_new_family: Path) -> None:
    proc = _run(cases_with_a_new_family, "-c", PROBE)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert Path(out["file"]).is_relative_to(cases_with_a_new_family)  # the copy, not the repository's package
    assert "ring" in out["names"] and "ring" in out["certified"] and out["ref"] == "cases.ring:CASE"
    assert set(out["names"]) - {"ring"} == set(cases.case_names())  # the built-ins are all still there
    assert out["lazy"], "listing imported the new module or JAX"
    assert out["dim"] == 2 and out["params"] == {"radius": 2.0}
    assert out["ok"] and out["checks"] == 4 and out["method"] == "closed-form" and out["rejects"]


def test_the_cli_lists_and_verifies_the_new_case(cases_with_a_new_family: Path) -> None:
    listing = _run(cases_with_a_new_family, "-m", "harness.cli", "cases")
    assert listing.returncode == 0, listing.stderr
    assert any(line.startswith("ring ") and "ground_truth=exact" in line for line in listing.stdout.splitlines())
    verify = _run(cases_with_a_new_family, "-m", "harness.cli", "cases", "ring", "--param", "radius=3", "--verify")
    assert verify.returncode == 0, verify.stderr
    assert verify.stdout.strip() == "ring radius=3.0: verified (4 checks, closed-form)"


# ----------------------------------------------------------------------------- the built-ins' declarations
@pytest.mark.parametrize("name", sorted(builtin_declarations()))
def test_every_builtin_declaration_loads_as_declared(name: str) -> None:
    decl = builtin_declarations()[name]
    spec = cases.case_spec(name)
    assert spec.name == name and spec.certificate == decl.certificate
    assert load_ref(decl.ref, what=name) is spec and CASES.reference(name) == decl.ref


@pytest.mark.parametrize("name", certified_names())
def test_every_declared_certificate_resolves(name: str) -> None:
    ref = cases.case_spec(name).certificate
    assert ref is not None and CERTIFICATES.reference(name) == ref
    fn = load_ref(ref, what=f"certificate of {name!r}")
    assert callable(fn) and fn is CERTIFICATES.get(name)
    assert next(iter(inspect.signature(fn).parameters)) == "case"


def test_every_certificate_module_is_named_by_a_case() -> None:
    modules = {p.stem for p in (ROOT / "cases" / "certificates").glob("*.py") if not p.stem.startswith("_")}
    refs = {d.certificate for d in builtin_declarations().values() if d.certificate}
    named = {ref.partition(":")[0].rpartition(".")[2] for ref in refs}
    assert modules == named


def test_certificates_hold_no_name_table_of_their_own() -> None:
    base = (ROOT / "cases" / "certificates" / "_base.py").read_text(encoding="utf-8")
    assert "Registry(" not in base and "cases.certificates." not in base.split('"""', 2)[2]


def test_an_imported_spec_must_match_its_declaration(monkeypatch: pytest.MonkeyPatch) -> None:
    import cases.registry as registry

    wrong = Declaration("example-1.1", "cases.example11:CASE", "cases.certificates.quartic:certify", "x.py, line 1")
    monkeypatch.setattr(registry, "builtin_declarations", lambda: {"example-1.1": wrong})
    CASES.reset()
    try:
        with pytest.raises(CaseError, match=r"^case 'example-1.1': cases.example11:CASE is CaseSpec\('example-1.1', "
                                            r"certificate='cases.certificates.example11:certify'\) but x.py, line 1 "):
            cases.case_spec("example-1.1")
    finally:
        monkeypatch.undo()
        CASES.reset()
    assert cases.case_spec("example-1.1").certificate == "cases.certificates.example11:certify"


# ----------------------------------------------------------------------------- reading a declaration
def test_the_declaration_forms() -> None:
    src = textwrap.dedent('''
        """Docstring."""
        NAME = "b-case"  # a constant
        A = CaseSpec("a-case", f, description="x", ground_truth_kind="none")
        B: CaseSpec = CaseSpec(
            NAME, f, description="(paren) ]", ground_truth_kind="exact",
            certificate="pkg.cert:certify",
        )
        C = CaseSpec(name="c-case", factory=f, description="", ground_truth_kind="none", certificate=None)

        def register():
            D = CaseSpec("not-a-declaration", f, description="", ground_truth_kind="none")
        ''')
    got = read_declarations(src, "pkg.mod", "mod.py")
    assert got == [Declaration("a-case", "pkg.mod:A", None, "mod.py, line 4"),
                   Declaration("b-case", "pkg.mod:B", "pkg.cert:certify", "mod.py, line 5"),
                   Declaration("c-case", "pkg.mod:C", None, "mod.py, line 9")]
    assert read_declarations("import jax\n", "pkg.m", "m.py") == []


@pytest.mark.parametrize("src, message", [
    ("A = CaseSpec(make_name(), f)\n", "m.py, line 1: the case name must be a string literal or a module-level "
                                       "constant assigned one (the registry reads it without importing pkg.m)"),
    ("A = CaseSpec(UNDEFINED, f)\n", "m.py, line 1: the case name must be a string literal"),
    ("\nA = CaseSpec('a', f, certificate=REF)\n", "m.py, line 2: certificate= of case 'a' must be a string literal "
                                                  "'module:attr' or None"),
    ("A = CaseSpec('a', f,\n", "m.py, line 1: "),
])
def test_a_malformed_declaration_is_one_line_naming_file_and_line(src: str, message: str) -> None:
    with pytest.raises(CaseError) as info:
        read_declarations(src, "pkg.m", "m.py", CaseError)
    assert str(info.value).startswith(message) and "\n" not in str(info.value)


def test_scan_skips_private_modules_and_rejects_a_name_declared_twice(tmp_path: Path) -> None:
    (tmp_path / "one.py").write_text("A = CaseSpec('x', f)\n", encoding="utf-8")
    (tmp_path / "_private.py").write_text("A = CaseSpec('hidden', f)\n", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "__init__.py").write_text("A = CaseSpec('in-sub', f)\n", encoding="utf-8")
    assert list(scan(tmp_path, "pkg")) == ["x"]
    (tmp_path / "two.py").write_text("\nB = CaseSpec('x', g)\n", encoding="utf-8")
    with pytest.raises(CaseError, match=r"^case 'x' is declared twice: .*one.py, line 1 and .*two.py, line 2$"):
        scan(tmp_path, "pkg", CaseError)


# ----------------------------------------------------------------------------- plug-ins name theirs too
@pytest.fixture
def fake_entry_points(monkeypatch: pytest.MonkeyPatch):
    yield from _fake_entry_points(monkeypatch)


def _write_ring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, package: str) -> None:
    pkg = tmp_path / package
    (pkg / "certificates").mkdir(parents=True)
    (pkg / "__init__.py").write_text("", encoding="utf-8")
    (pkg / "certificates" / "__init__.py").write_text("", encoding="utf-8")
    case_src = (textwrap.dedent(RING_CASE).replace("from . import _x64", "from cases import _x64")
                .replace("from ._core import", "from cases import")
                .replace("from .registry import", "from cases import")
                .replace("cases.certificates.ring:certify", f"{package}.certificates.ring:certify"))
    (pkg / "ring.py").write_text(case_src, encoding="utf-8")
    cert_src = textwrap.dedent(RING_CERTIFICATE).replace("from ._base import", "from cases.certificates import")
    (pkg / "certificates" / "ring.py").write_text(cert_src, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))


def test_a_plugin_case_spec_names_its_certificate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  fake_entry_points) -> None:
    _write_ring(tmp_path, monkeypatch, "ringplug")
    fake_entry_points("critbench.cases", "ring", "ringplug.ring:CASE")  # no critbench.certificates entry
    assert certify("ring", radius=2.0).ok


def test_register_case_registers_its_certificate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 fake_entry_points) -> None:
    _write_ring(tmp_path, monkeypatch, "ringreg")
    import importlib

    mod = importlib.import_module("ringreg.ring")
    cases.register_case("ring-here", mod.make_ring, description="d", ground_truth_kind="exact",
                        certificate="ringreg.certificates.ring:certify")
    assert "ring-here" in certified_names() and certify("ring-here", radius=0.5).ok
