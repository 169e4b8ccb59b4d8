"""``harness.perf.bench``: the HLO dot parser, the measured GEMM roofline and the best-of-readings peak."""

import math

import jax
import jax.numpy as jnp
import pytest

from harness.perf import bench
from harness.perf.bench import HloDot, Readings, hlo_dots


def _key(d: HloDot) -> tuple:
    return (d.lhs_shape, d.rhs_shape, d.lhs_contracting, d.rhs_contracting, d.lhs_batch, d.rhs_batch)


def test_hlo_dots_finds_known_products_of_a_jitted_function():
    # a @ b: (3,4)(4,5) contracting 1|0; c.T @ d: (6,3)^T(6,7) contracting 0|0; a batched b,i,j x b,k,j product
    f = jax.jit(lambda a, b, c, d, e, g: (a @ b, c.T @ d, jnp.einsum("bij,bkj->bik", e, g)))
    shapes = [(3, 4), (4, 5), (6, 3), (6, 7), (2, 3, 4), (2, 5, 4)]
    dots = hlo_dots(f.lower(*[jnp.ones(s) for s in shapes]).compile().as_text())
    assert sorted(map(_key, dots)) == sorted([
        ((3, 4), (4, 5), (1,), (0,), (), ()),
        ((6, 3), (6, 7), (0,), (0,), (), ()),
        ((2, 3, 4), (2, 5, 4), (2,), (2,), (0,), (0,)),
    ])
    assert all(d.lhs_dtype == d.rhs_dtype == "f64" for d in dots)
    by_lhs = {d.lhs_shape: d for d in dots}
    assert by_lhs[(3, 4)].flop == 2 * 3 * 4 * 5
    assert by_lhs[(6, 3)].flop == 2 * 3 * 6 * 7
    assert by_lhs[(2, 3, 4)].flop == 2 * 2 * 3 * 5 * 4
    assert by_lhs[(2, 3, 4)].out_shape == (2, 3, 5)


FUSED = """\
HloModule m, entry_computation_layout={(f64[5,40]{1,0}, f64[40,400]{1,0})->f64[5,400]{1,0}}

%fused_computation (param_0: f64[5,40], param_1: f64[40,400]) -> f64[5,400] {
  %param_0 = f64[5,40]{1,0} parameter(0)
  %param_1 = f64[40,400]{1,0} parameter(1)
  ROOT %dot.1 = f64[5,400]{1,0} dot(%param_0, %param_1), lhs_contracting_dims={1}, rhs_contracting_dims={0}
}

ENTRY %main (x: f64[5,40], y: f64[40,400]) -> f64[5,400] {
  %x = f64[5,40]{1,0} parameter(0)
  %y = f64[40,400]{1,0} parameter(1)
  %z = f64[400,5]{1,0} dot(f64[40,400]{1,0} %y, f64[5,40]{1,0} %x), lhs_contracting_dims={0}, rhs_contracting_dims={1}
  ROOT %f = f64[5,400]{1,0} fusion(%x, %y), kind=kOutput, calls=%fused_computation
}
"""


def test_hlo_dots_reads_fused_computations_and_inline_operand_shapes():
    dots = hlo_dots(FUSED)
    assert [(d.name, d.lhs_shape, d.rhs_shape, d.lhs_contracting, d.rhs_contracting) for d in dots] == [
        ("dot.1", (5, 40), (40, 400), (1,), (0,)), ("z", (40, 400), (5, 40), (0,), (1,))]


def test_hlo_dots_names_an_operand_without_a_shape():
    with pytest.raises(ValueError, match="dot.1.*'param_9'"):
        hlo_dots(FUSED.replace("dot(%param_0, %param_1)", "dot(%param_9, %param_1)"))


def test_gemm_roofline_times_each_distinct_product_and_counts_repeats():
    f = jax.jit(lambda a, b, c: (a @ b, c @ b, a.T @ c))  # a @ b and c @ b: the same product, counted twice
    args = [jnp.ones((30, 40)), jnp.ones((40, 50)), jnp.ones((30, 40))]
    gr = bench.gemm_roofline(f.lower(*args).compile(), repeats=2)
    assert sorted(g["count"] for g in gr["gemms"]) == [1, 2]
    assert gr["gemm_flop"] == 2 * (2 * 30 * 40 * 50) + 2 * 40 * 30 * 40
    assert gr["gemm_s"] == pytest.approx(sum(g["count"] * g["seconds"] for g in gr["gemms"])) and gr["gemm_s"] > 0
    assert gr["gemm_unparsed"] == 0


def _scripted(rates):
    it = iter(rates)

    def reading(n, repeats):
        r = next(it)
        return {"n": n, "seconds": 2.0 * n**3 / r, "flops_per_s": r}

    return reading


def test_readings_keep_every_reading_and_use_the_best(monkeypatch):
    rates = [54e9, 180e9, 70e9, 99e9]
    monkeypatch.setattr(bench, "matmul_peak", _scripted(rates))
    monkeypatch.setattr(bench, "memory_bandwidth", lambda n, repeats: {"n": n, "seconds": 1.0, "bytes_per_s": 7.0})
    r = Readings(sizes=(64, 128), stream_n=8, repeats=1)
    r.read("start")
    r.read("end")
    m = r.matmul()
    assert [x["flops_per_s"] for x in m["readings"]] == rates
    assert [x["when"] for x in m["readings"]] == ["start", "start", "end", "end"]
    assert m["flops_per_s"] == m["max"] == 180e9 and m["n"] == 128
    assert m["min"] == 54e9 and m["median"] == (70e9 + 99e9) / 2
    assert r.stream()["bytes_per_s"] == 7.0 and len(r.stream()["readings"]) == 2


def test_run_bench_fractions_use_the_best_reading_of_the_whole_run(monkeypatch):
    # the best reading comes last (after the case): the row's fractions must be re-derived with it
    rates = iter([50e9, 60e9, 40e9, 200e9])
    monkeypatch.setattr(bench, "matmul_peak", lambda n, repeats: {"n": n, "seconds": 1.0, "flops_per_s": next(rates)})
    bws = iter([1e9, 3e9])
    monkeypatch.setattr(bench, "memory_bandwidth", lambda n, repeats: {"n": n, "seconds": 1.0,
                                                                      "bytes_per_s": next(bws)})
    seen = {}

    def fake_case(name, batches, *, peak, bandwidth, gemm, **kw):
        seen.update(peak=peak, bandwidth=bandwidth, gemm=gemm)
        row = {"batch": 1, "s_per_grad": 1e-3, "s_per_hvp": 2e-3, "hvp_grad_ratio": 2.0, "flop_per_grad": 1e6,
               "flop_per_hvp": 4e6, "bytes_per_hvp": 1e6, "hvp_intensity": 4.0, "gemm_s": 1e-3, "gemm_flop": 3e6}
        bench._fractions(row, peak, bandwidth)
        return {"case": name, "dim": 10, "params": {}, "batches": [row]}

    monkeypatch.setattr(bench, "bench_case", fake_case)
    res = bench.run_bench(sizes=("1e4",), runs=0)
    assert seen == {"peak": 60e9, "bandwidth": 1e9, "gemm": True}  # the best so far when the case ran
    peak, bw = res["matmul_peak"], res["memory_bandwidth"]
    assert len(peak["readings"]) == 4 and peak["flops_per_s"] == max(r["flops_per_s"] for r in peak["readings"])
    assert peak["flops_per_s"] == 200e9 and bw["bytes_per_s"] == 3e9
    row = res["cases"][0]["batches"][0]
    assert row["hvp_peak_fraction"] == pytest.approx(4e6 / 2e-3 / 200e9)
    assert row["grad_peak_fraction"] == pytest.approx(1e6 / 1e-3 / 200e9)
    assert row["hvp_roofline_flop_per_s"] == min(200e9, 4.0 * 3e9)
    assert row["hvp_gemm_fraction"] == pytest.approx(0.5)
    assert row["gemm_peak_fraction"] == pytest.approx(3e6 / 1e-3 / 200e9)
    text = bench.format_table({**res, "peak_rss_mb": 1.0})
    assert "200.0 GFLOP/s (best of 4; min 40.0, median 55.0)" in text


def test_quick_bench_has_the_gemm_roofline_with_hand_counted_flops():
    res = bench.run_bench(quick=True)
    peak = res["matmul_peak"]
    # readings: 2 sizes, before the cases and after each of the 2 cases (quartic, small DLAE)
    assert len(peak["readings"]) == 2 * 3
    assert peak["flops_per_s"] == max(r["flops_per_s"] for r in peak["readings"])
    quartic, dlae = res["cases"]
    assert quartic["case"] == "quartic" and dlae["case"] == "dlae"
    # quartic (n = 2): u = Q^T x and its tangent Q^T v, then Q (f''(u) * Q^T v): 3 products of 2 n^2 FLOPs
    n = quartic["dim"]
    # DLAE, R = X - W2 (W1 X): the HVP (jvp of grad) keeps the primal H = W1 X, W2 H (2 products) and the
    # tangents dW1 X, dW2 H + W2 dH, dR H^T + R dH^T, dW2^T R + W2^T dR, d(W2^T R) X^T (8): 10 of 2 p k n
    k, p, nn = (dlae["params"][key] for key in ("k", "p", "n"))
    expected = {"quartic": 3 * 2 * n * n, "dlae": 10 * 2 * p * k * nn}
    for c in (quartic, dlae):
        for r in c["batches"]:
            assert r["gemm_flop"] == pytest.approx(expected[c["case"]]), (c["case"], r["batch"])
            assert 0.5 < r["gemm_flop"] / r["flop_per_hvp"] <= 1.0 + 1e-9  # XLA counts the dots and more
            assert r["gemm_s"] > 0 and r["gemm_unparsed"] == 0
            assert r["hvp_gemm_fraction"] == pytest.approx(r["gemm_s"] / r["s_per_hvp"])
            assert r["gemm_peak_fraction"] == pytest.approx(r["gemm_flop"] / r["gemm_s"] / peak["flops_per_s"])
            assert r["hvp_peak_fraction"] == pytest.approx(r["flop_per_hvp"] / r["s_per_hvp"] / peak["flops_per_s"])
            assert math.isclose(sum(g["count"] * g["flop"] for g in r["gemms"]) / r["batch"], r["gemm_flop"])
    assert "solve_s" not in dlae["batches"][0]  # HVP figures only
    text = bench.format_table(res)
    assert "hvp %gemm-bound" in text and "gemm %peak" in text and "GEMM roofline" in text
    assert "10 dots" in text
