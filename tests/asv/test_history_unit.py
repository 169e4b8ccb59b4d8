"""Fast checks of the asv wiring: benchmark names and units, regression parsing,
offline asset vendoring (no asv run, no browser)."""

from __future__ import annotations

import importlib
import inspect

import pytest

from harness.perf import history

EXPECTED = {
    "bench_oracles": ["time_hvp_dlae", "time_grad_dlae", "time_hvp_swish_mlp", "time_grad_swish_mlp"],
    "bench_solvers": ["time_minres_qlp_dlae", "time_newton_mr_batch_dlae", "time_compile_newton_mr_dlae",
                      "time_scorecard_slowest_cell"],
    "bench_quality": ["track_success_fraction_newton_mr_dlae", "track_correct_fraction_newton_mr_dlae",
                      "track_hvps_per_success_newton_mr_dlae", "track_gradient_flat_count_newton_mr_quartic"],
    "bench_memory": ["peakmem_newton_mr_batch64_dlae"],
}


def _members(mod):
    out = {}
    for _, cls in inspect.getmembers(mod, inspect.isclass):
        for name, fn in inspect.getmembers(cls, inspect.isfunction):
            out[name] = fn
    return out


@pytest.mark.parametrize("module", sorted(EXPECTED))
def test_benchmark_names_and_units(module: str) -> None:
    members = _members(importlib.import_module(f"benchmarks.{module}"))
    for name in EXPECTED[module]:
        assert name in members, name
        if name.startswith("track_"):
            assert isinstance(getattr(members[name], "unit", None), str), f"{name} has no unit"


def test_benchmark_modules_import_no_project_code_at_top_level() -> None:
    """Old commits may lack any critbench module: imports belong in setup()."""
    for module in EXPECTED:
        src = inspect.getsource(importlib.import_module(f"benchmarks.{module}"))
        top = [ln for ln in src.splitlines() if ln.startswith(("import ", "from "))]
        assert all(ln.startswith(("from __future__", "from ._common", "import math", "import tempfile"))
                   for ln in top), top


TABLE = """
| Change   | Before [d73585cd] <main~1>   | After [8a850d53] <main>   |   Ratio | Benchmark (Parameter)                   |
|----------|------------------------------|---------------------------|---------|-----------------------------------------|
| +        | 3.00±2ms                     | 38.6±6ms                  |   12.84 | bench_oracles.OraclesDLAE.time_hvp_dlae |
| -        | 0.9                          | 0.5                       |    0.56 | bench_quality.NewtonMRQualityDLAE.track_success_fraction_newton_mr_dlae |
| -        | 900                          | 400                       |    0.44 | bench_quality.NewtonMRQualityDLAE.track_hvps_per_success_newton_mr_dlae |
|          | 1.18±0.4ms                   | 3.42±1ms                  |   ~2.91 | bench_oracles.OraclesDLAE.time_grad_dlae |
"""


def test_regressions_parses_asv_compare_table() -> None:
    assert history.regressions(TABLE) == [
        "bench_oracles.OraclesDLAE.time_hvp_dlae",
        "bench_quality.NewtonMRQualityDLAE.track_success_fraction_newton_mr_dlae",
    ]
    assert history.regressions("All benchmarks:\n") == []


def test_vendor_assets_rewrites_cdn_links(tmp_path, monkeypatch) -> None:
    vendor_src = tmp_path / "cdn"
    vendor_src.mkdir()
    (vendor_src / "jquery-3.3.1.min.js").write_text("/* jquery */")
    monkeypatch.setenv("CRITBENCH_ASV_VENDOR", str(vendor_src))
    monkeypatch.setattr(history, "VENDOR", {"jquery-3.3.1.min.js": [], "jquery.flot.orderBars.js": None,
                                            "md5.min.js": []})
    html = tmp_path / "html"
    html.mkdir()
    (html / "index.html").write_text(
        '<script src="https://code.jquery.com/jquery-3.3.1.min.js" integrity="sha256-x" crossorigin="anonymous"></script>'
        '<script src="https://cdn.jsdelivr.net/npm/flot-orderbars@1.0.0/js/jquery.flot.orderBars.js"></script>'
        '<script src="https://cdnjs.cloudflare.com/ajax/libs/blueimp-md5/2.19.0/js/md5.min.js"></script>')
    done = history.vendor_assets(html)
    page = (html / "index.html").read_text()
    assert done["jquery-3.3.1.min.js"].endswith("jquery-3.3.1.min.js") and done["jquery.flot.orderBars.js"] == "stub"
    assert '<script src="vendor/jquery-3.3.1.min.js"></script>' in page
    assert 'src="vendor/jquery.flot.orderBars.js"' in page
    assert "https://cdnjs.cloudflare.com/ajax/libs/blueimp-md5" in page  # not found locally: CDN kept
    assert (html / "vendor" / "jquery-3.3.1.min.js").read_text() == "/* jquery */"
