"""``critbench bench --quick``: runs, writes JSON with the figures, and the figures are consistent."""

import json

from harness.cli import main


def test_bench_quick_writes_table_and_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "--quick", "--json", str(out), "--compile-cache", "off"]) == 0
    text = capsys.readouterr().out
    assert "f64 matmul peak" in text and "quartic" in text
    res = json.loads(out.read_text())
    assert res["device"]["platform"] == "cpu" and res["matmul_peak"]["flops_per_s"] > 0
    bw = res["memory_bandwidth"]
    assert bw["bytes_per_s"] == 24 * bw["n"] / bw["seconds"] > 0
    assert "stream bandwidth" in text and "hvp %roofline" in text
    assert "best of" in text and "hvp %gemm-bound" in text and "GEMM roofline" in text
    rows = res["cases"][0]["batches"]
    assert [r["batch"] for r in rows] == [1, 4]
    for r in rows:
        assert r["flop_per_hvp"] > r["flop_per_grad"] > 0  # XLA cost analysis: an HVP costs more than a gradient
        assert r["successes"] >= 1 and 0 < r["lane_utilization"] <= 1
        assert r["compile_s_warm"] == 0.0  # second call of the same shapes compiles nothing
        assert r["hvps"] > 0 and r["solve_flop_per_s"] > 0
        # roofline: the bound is the smaller of the matmul peak and intensity x bandwidth
        assert r["hvp_intensity"] == r["flop_per_hvp"] / r["bytes_per_hvp"]
        assert r["hvp_roofline_flop_per_s"] == min(res["matmul_peak"]["flops_per_s"],
                                                   r["hvp_intensity"] * bw["bytes_per_s"])
        assert r["hvp_roofline_fraction"] > 0
    assert rows[0]["lane_utilization"] == 1.0  # one lane is never idle
    assert res["peak_rss_mb"] > 0
