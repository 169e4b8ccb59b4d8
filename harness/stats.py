"""The statistics of the harness, in one place: binomial intervals and the exact tests.

Pure functions of counts or paired samples (NumPy and ``scipy.stats``; nothing of
the harness), imported downward by scoring (success intervals), the regression
gate (:mod:`harness.gate.compare`), the leaderboard and the reports.

* **Wilson score interval** for ``k`` successes of ``n`` at normal quantile ``z``::

      centre = (k + z^2/2) / (n + z^2)
      half   = z sqrt(k (n - k) / n + z^2/4) / (n + z^2)
      [max(0, centre - half), min(1, centre + half)]

  (``scipy.stats.binomtest(k, n).proportion_ci(method="wilson")``, written out so
  the bounds stay bit-identical to stored reports; ``(0, 1)`` when ``n = 0``).
* **Exact McNemar test** on paired booleans: ``b`` pairs true in base only, ``c``
  true in new only; under H0 ``B ~ Binomial(b + c, 1/2)``; one-sided p-value
  ``P(B >= b)`` (a binomial test on the discordant pairs).
* **Exact sign test** on paired values: of the ``m`` untied pairs ``k`` have
  ``new > base``; under H0 ``K ~ Binomial(m, 1/2)``; one-sided p-value ``P(K >= k)``.
* **Two-sided** p-value of a ``Binomial(d, 1/2)`` statistic from its two one-sided
  tails: ``min(1, 2 min(p_up, p_down))`` (the null is symmetric).
* **Fisher's exact test** on ``[[k_b, n_b - k_b], [k_n, n_n - k_n]]`` and the
  one-sided **Mann-Whitney U** test, the unpaired fallbacks.
* **Holm's step-down correction** (Holm 1979): sort the ``m`` p-values ascending,
  reject ``p_(j) < alpha / (m - j)`` for ``j = 0, 1, ...`` until the first
  non-rejection; controls the family-wise error rate at ``alpha`` like Bonferroni
  (``p < alpha / m``) and rejects at least as much.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np

__all__ = ["CORRECTIONS", "Z95", "binom_upper", "fisher_greater", "mannwhitney_greater", "mcnemar_greater",
           "sign_greater", "significant", "two_sided", "wilson_interval"]

#: Two-sided 95% normal quantile (``scipy.stats.norm.ppf(0.975)``) used by :func:`wilson_interval`.
Z95 = 1.959963984540054
#: Multiple-testing corrections :func:`significant` knows.
CORRECTIONS = ("holm", "bonferroni", "none")


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (95% by default).

    ``centre = (k + z^2/2) / (n + z^2)``,
    ``half = z sqrt(k (n - k) / n + z^2 / 4) / (n + z^2)``; ``(0, 1)`` when ``n = 0``.

    Raises:
        ValueError: ``successes`` outside ``[0, n]``.
    """
    if n <= 0:
        return (0.0, 1.0)
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be in [0, {n}], got {successes}")
    k = float(successes)
    den = n + z * z
    centre = (k + z * z / 2) / den
    half = z * math.sqrt(k * (n - k) / n + z * z / 4) / den
    return (max(0.0, centre - half), min(1.0, centre + half))


@functools.lru_cache(maxsize=65536)
def binom_upper(k: int, m: int) -> float:
    """``P(B >= k)`` for ``B ~ Binomial(m, 1/2)`` (exact, ``scipy.stats.binomtest``; 1 when ``m = 0``)."""
    from scipy.stats import binomtest

    return 1.0 if m == 0 else float(binomtest(k, m, 0.5, alternative="greater").pvalue)


def mcnemar_greater(base_ok: Sequence[bool], new_ok: Sequence[bool]) -> float:
    """Exact one-sided McNemar p-value for "pairs lose the property more often than they gain it".

    ``b`` = pairs true in base only, ``c`` = true in new only; under H0 (the two
    discordant kinds equally likely) ``b ~ Binomial(b + c, 1/2)``; returns
    ``P(B >= b)`` (1 when there are no discordant pairs).
    """
    b = sum(1 for x, y in zip(base_ok, new_ok) if x and not y)
    c = sum(1 for x, y in zip(base_ok, new_ok) if y and not x)
    return binom_upper(b, b + c)


def sign_greater(base: Sequence[float], new: Sequence[float]) -> float:
    """Exact one-sided sign test p-value for "new costs exceed base costs", paired.

    Of the ``m`` untied pairs, ``k`` have ``new > base``; under H0 (each pair's
    difference as likely up as down) ``k ~ Binomial(m, 1/2)``; returns ``P(K >= k)``
    (1 when every pair is tied).
    """
    up = sum(1 for x, y in zip(base, new) if y > x)
    down = sum(1 for x, y in zip(base, new) if y < x)
    return binom_upper(up, up + down)


def two_sided(p_one: float, p_other: float) -> float:
    """Two-sided exact p-value of a ``Binomial(d, 1/2)`` statistic from its two one-sided tails.

    ``min(1, 2 min(p_one, p_other))``: the null distribution is symmetric.
    """
    return float(min(1.0, 2.0 * min(p_one, p_other)))


@functools.lru_cache(maxsize=65536)
def fisher_greater(base_k: int, base_n: int, new_k: int, new_n: int) -> float:
    """One-sided Fisher exact p-value for "base proportion > new proportion" (1 when a side is empty)."""
    from scipy.stats import fisher_exact

    if base_n == 0 or new_n == 0:
        return 1.0
    table = [[base_k, base_n - base_k], [new_k, new_n - new_k]]
    return float(fisher_exact(table, alternative="greater").pvalue)


def mannwhitney_greater(base: Sequence[float], new: Sequence[float]) -> float:
    """One-sided Mann-Whitney U p-value for "new values are stochastically larger" (1 when all equal)."""
    from scipy.stats import mannwhitneyu

    if len(base) == 0 or len(new) == 0:
        return 1.0
    if np.ptp(np.concatenate([base, new])) == 0:
        return 1.0
    return float(mannwhitneyu(new, base, alternative="greater").pvalue)


def significant(pvals: Sequence[float], alpha: float, correction: str = "holm") -> tuple[list[bool], list[float]]:
    """Which tests reject at family-wise level ``alpha``, and each test's threshold.

    ``"none"``: ``p < alpha``; ``"bonferroni"``: ``p < alpha / m``; ``"holm"``:
    sort ascending, reject ``p_(j) < alpha / (m - j)`` (``j = 0, 1, ...``) until the
    first non-rejection (Holm 1979; controls the family-wise rate like Bonferroni).

    Raises:
        ValueError: an unknown ``correction``.
    """
    if correction not in CORRECTIONS:
        raise ValueError(f"correction must be one of {', '.join(CORRECTIONS)}, got {correction!r}")
    m = len(pvals)
    if correction == "none":
        thr = [alpha] * m
        return [p < alpha for p in pvals], thr
    if correction == "bonferroni":
        thr = [alpha / m] * m
        return [p < alpha / m for p in pvals], thr
    order = sorted(range(m), key=lambda i: pvals[i])
    thr = [0.0] * m
    rej = [False] * m
    going = True
    for j, i in enumerate(order):
        thr[i] = alpha / (m - j)
        going = going and pvals[i] < thr[i]
        rej[i] = going
    return rej, thr
