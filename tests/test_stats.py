"""harness.stats: Wilson intervals, the exact McNemar and sign tests, two-sided tails and Holm's correction,
each checked against its definition (exact integer binomial tails, SciPy's Wilson interval, Holm's rule)."""

from __future__ import annotations

import math

import pytest
from scipy.stats import binomtest

from harness.stats import mcnemar_greater, sign_greater, significant, two_sided, wilson_interval


def upper_tail(k: int, m: int) -> float:
    """P(B >= k), B ~ Binomial(m, 1/2), by exact integer arithmetic."""
    return sum(math.comb(m, j) for j in range(k, m + 1)) / 2**m


def test_wilson_interval_hand_computed():
    # k = 8, n = 10, z = 1.959964: centre = (8 + z^2/2)/(10 + z^2) = 0.716738,
    # half = z sqrt(1.6 + z^2/4)/(10 + z^2) = 0.226578.
    lo, hi = wilson_interval(8, 10)
    assert lo == pytest.approx(0.490162, abs=1e-5)
    assert hi == pytest.approx(0.943315, abs=1e-5)
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == pytest.approx(1.0)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson_interval(11, 10)


@pytest.mark.parametrize("k,n", [(0, 1), (3, 7), (8, 10), (50, 64), (64, 64)])
def test_wilson_interval_is_scipys(k: int, n: int) -> None:
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert wilson_interval(k, n) == pytest.approx((ci.low, ci.high), abs=1e-12)


def test_mcnemar_and_sign_are_exact_binomial_tails() -> None:
    base = [True] * 10 + [False] * 3
    new = [False] * 7 + [True] * 3 + [True] * 3  # b = 7 lost, c = 3 gained: tail P(B >= 7 | m = 10)
    assert mcnemar_greater(base, new) == pytest.approx(upper_tail(7, 10), rel=1e-12)
    assert mcnemar_greater([True] * 5, [False] * 5) == pytest.approx(1 / 32, rel=1e-12)
    assert mcnemar_greater([True, False], [True, False]) == 1.0  # no discordant pair
    # sign test: 9 dearer, 2 cheaper, 3 tied (dropped)
    b = [10] * 14
    n = [11] * 9 + [9] * 2 + [10] * 3
    assert sign_greater(b, n) == pytest.approx(upper_tail(9, 11), rel=1e-12)


def test_two_sided_doubles_the_smaller_tail() -> None:
    # 7 of 10 discordant pairs one way: two-sided p = 2 P(B >= 7) (the null is symmetric)
    base = [True] * 7 + [False] * 3
    new = [False] * 7 + [True] * 3
    p = two_sided(mcnemar_greater(base, new), mcnemar_greater(new, base))
    assert p == pytest.approx(2 * upper_tail(7, 10), rel=1e-12)
    assert two_sided(0.9, 0.8) == 1.0


def test_holm_matches_definition() -> None:
    rej, thr = significant([0.001, 0.04, 0.03, 0.5], 0.05, "holm")
    assert rej == [True, False, False, False] and thr[0] == pytest.approx(0.0125)
    rej, _ = significant([0.001, 0.012, 0.02, 0.5], 0.05, "holm")
    assert rej == [True, True, True, False]
    rej, thr = significant([0.001, 0.04], 0.05, "bonferroni")
    assert rej == [True, False] and thr == [0.025, 0.025]
    with pytest.raises(ValueError, match="correction"):
        significant([0.1], 0.05, "sidak")
