"""Operating characteristics of the regression gate, measured by resampling stored runs.

``python -m harness.gate.power RESULTS_DIR`` estimates, for a range of runs per
cell, how often :func:`harness.gate.compare.compare` (the gate's test, family-wise
``alpha`` with Holm over every cell and metric) flags

* nothing is wrong (*false-alarm rate*: the "new" set has the same distribution), and
* an injected regression in one cell (*power*): a success drop of ``d``
  points, or HVPs of the successful runs multiplied by ``r``,

with the paired tests (McNemar, Wilcoxon) and the unpaired ones (Fisher,
Mann-Whitney) side by side on the *same* resampled data.

Resampling model (per trial, per cell, ``n`` runs):

* **base**: ``n`` of the cell's stored runs drawn at random (without replacement
  when ``n`` does not exceed the stored count), renumbered ``0 .. n-1``;
* **new**: a copy of base in which each run, with probability ``churn``, is
  replaced by another stored run of the same cell drawn at random -- a code
  change that moves individual runs without changing the distribution.  Under
  this model the pairs are exchangeable, so it is a valid null for the paired
  tests as well as the unpaired ones.  ``churn = 0`` is a bit-for-bit
  reproducible solver (measured: an unchanged solver reproduces every stored
  run), where a paired gate cannot cry wolf at all;
* **injected effect**, in one target cell (round robin over the eligible
  cells): each successful new run fails (outcome ``injected-failure``, not
  correct) with probability ``d / s`` (``s`` = the cell's stored success
  fraction, so the expected drop is ``d``; cells with ``s < d`` or fewer than
  ``2 / d`` runs' worth of successes are not targets), or each successful new
  run's HVPs are multiplied by ``r``.

Power = fraction of trials in which the target cell's metric (``success`` or
``correct`` for a drop, ``hvps/succ`` for a slowdown) is flagged; the
false-alarm rate = fraction of null trials in which *any* test is flagged.
Everything comes from stored records and :func:`compare` itself; no solver runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from harness.gate.compare import CellStats, CompareError, RunRow, cell_stats, compare

__all__ = ["Effect", "EFFECTS", "PowerRow", "measure", "resample_pair", "format_table", "main"]


@dataclasses.dataclass(frozen=True)
class Effect:
    """An injected regression: ``kind`` ``"none"``, ``"drop"`` (success points) or ``"cost"`` (HVP factor)."""

    kind: str
    size: float = 0.0

    @property
    def label(self) -> str:
        if self.kind == "drop":
            return f"success -{round(100 * self.size)} pts"
        if self.kind == "cost":
            return f"HVPs x{self.size:g}"
        return "none (false alarms)"

    @property
    def metrics(self) -> frozenset[str]:
        return frozenset({"success", "correct"} if self.kind == "drop" else {"hvps/succ"} if self.kind == "cost"
                         else ())


#: The effects of the published table (issue 16).
EFFECTS = (Effect("none"), Effect("drop", 0.05), Effect("drop", 0.10), Effect("drop", 0.20),
           Effect("cost", 1.2), Effect("cost", 1.5), Effect("cost", 2.0))


def eligible(cell: CellStats, effect: Effect) -> bool:
    """Whether ``effect`` can be injected into ``cell`` (enough successes to lose or to slow down)."""
    s = cell.successes / cell.runs
    if effect.kind == "drop":
        return s >= effect.size
    if effect.kind == "cost":
        return cell.successes >= 3
    return True


def _rows(rows: Sequence[RunRow], idx: np.ndarray) -> list[RunRow]:
    return [dataclasses.replace(rows[int(j)], seed=0, run_index=i, run_id=None) for i, j in enumerate(idx)]


def _cell(template: CellStats, rows: list[RunRow]) -> CellStats:
    crit = [r for r in rows if r.success]
    has_gt = template.correct is not None
    return dataclasses.replace(template, runs=len(rows), successes=len(crit),
                               correct=sum(1 for r in rows if r.correct) if has_gt else None,
                               hvps_success=tuple(sorted(r.hvps for r in crit)), per_run=tuple(rows))


def resample_pair(cells: Sequence[CellStats], n: int, rng: np.random.Generator, *, churn: float,
                  target: int | None = None, effect: Effect = Effect("none")) -> tuple[list[CellStats], list[CellStats]]:
    """One (base, new) pair of result sets of ``n`` runs per cell (module docstring), effect in ``cells[target]``."""
    base, new = [], []
    for k, c in enumerate(cells):
        rows = c.per_run
        m = len(rows)
        idx = rng.choice(m, size=n, replace=n > m)
        b = _rows(rows, idx)
        swap = rng.random(n) < churn
        other = _rows(rows, rng.integers(0, m, size=n))
        nw = [o if sw else r for r, o, sw in zip(b, other, swap)]
        if k == target and effect.kind == "drop":
            p_fail = min(1.0, effect.size / (c.successes / c.runs))
            fail = rng.random(n) < p_fail
            nw = [dataclasses.replace(r, outcome="injected-failure", correct=False if r.correct is not None else None,
                                      matched_class=None) if r.success and f else r for r, f in zip(nw, fail)]
        elif k == target and effect.kind == "cost":
            nw = [dataclasses.replace(r, hvps=int(round(r.hvps * effect.size))) if r.success else r for r in nw]
        base.append(_cell(c, b))
        new.append(_cell(c, nw))
    return base, new


@dataclasses.dataclass
class PowerRow:
    """Measured rates for one (effect, runs per cell): ``paired``/``unpaired`` fractions of ``trials``."""

    effect: str
    runs: int
    trials: int
    paired: float
    unpaired: float
    targets: int
    per_cell: dict[str, tuple[int, int, int]] = dataclasses.field(default_factory=dict)

    @property
    def cells_at_90(self) -> tuple[int, int]:
        """Target cells detected in >= 90% of their trials: (paired, unpaired)."""
        return (sum(p >= 0.9 * n for n, p, _ in self.per_cell.values()),
                sum(u >= 0.9 * n for n, _, u in self.per_cell.values()))


def measure(cells: Sequence[CellStats], runs: Sequence[int], effects: Sequence[Effect] = EFFECTS, *,
            trials: int = 200, churn: float = 0.25, alpha: float = 0.01, min_effect: float = 1.5,
            seed: int = 0, progress: Any = None) -> list[PowerRow]:
    """False-alarm rate (``Effect("none")``) and power (other effects) for each runs-per-cell in ``runs``."""
    cells = [c for c in cells if c.per_run]
    if not cells:
        raise CompareError("no cell with per-run rows to resample (use a results directory or a /2 baseline)")
    rng = np.random.default_rng(seed)
    out = []
    for effect in effects:
        targets = [k for k, c in enumerate(cells) if eligible(c, effect)]
        if not targets:
            continue
        for n in runs:
            hits = {True: 0, False: 0}
            per_cell: dict[str, list[int]] = {}
            for t in range(trials):
                target = targets[t % len(targets)] if effect.kind != "none" else None
                base, new = resample_pair(cells, n, rng, churn=churn, target=target, effect=effect)
                for paired in (True, False):
                    rep = compare(base, new, alpha=alpha, min_effect=min_effect, paired=paired)
                    if effect.kind == "none":
                        hits[paired] += not rep.ok
                    else:
                        key = cells[target].key
                        hit = any(c.base.key == key and t_.metric in effect.metrics for c, t_ in rep.regressions)
                        hits[paired] += hit
                        pc = per_cell.setdefault(cells[target].label, [0, 0, 0])
                        pc[0] += paired
                        pc[1 if paired else 2] += hit
            row = PowerRow(effect.label, n, trials, hits[True] / trials, hits[False] / trials, len(targets),
                           {k: (v[0], v[1], v[2]) for k, v in per_cell.items()})
            out.append(row)
            if progress:
                progress(row)
    return out


def format_table(rows: Sequence[PowerRow], runs: Sequence[int]) -> str:
    """Markdown table: one line per effect, paired / unpaired rate per runs-per-cell.

    For injected effects, the parenthesis counts the target cells caught in >= 90% of
    their trials (paired, unpaired) out of the eligible cells.
    """
    effects = list(dict.fromkeys(r.effect for r in rows))
    by = {(r.effect, r.runs): r for r in rows}
    head = "| effect (in one cell) | " + " | ".join(f"n={n}: paired / unpaired" for n in runs) + " |"
    lines = [head, "|" + "---|" * (len(runs) + 1)]
    for e in effects:
        cells = []
        for n in runs:
            r = by.get((e, n))
            if r is None:
                cells.append("-")
            elif r.per_cell:
                a, b = r.cells_at_90
                cells.append(f"{100 * r.paired:.0f}% / {100 * r.unpaired:.0f}% ({a}, {b} of {r.targets})")
            else:
                cells.append(f"{100 * r.paired:.0f}% / {100 * r.unpaired:.0f}%")
        lines.append(f"| {e} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _ints(text: str) -> list[int]:
    try:
        vals = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not vals or min(vals) < 1:
        raise argparse.ArgumentTypeError(f"run counts must be >= 1, got {text!r}")
    return vals


def _effects(text: str) -> list[Effect]:
    """``none,drop:0.2,cost:1.5`` -> effects."""
    out = []
    for item in (x.strip() for x in text.split(",") if x.strip()):
        kind, _, size = item.partition(":")
        try:
            eff = Effect(kind, float(size) if size else 0.0)
        except ValueError:
            raise argparse.ArgumentTypeError(f"bad effect {item!r}") from None
        if kind not in ("none", "drop", "cost") or (kind == "drop" and not 0 < eff.size <= 1) \
                or (kind == "cost" and eff.size <= 0):
            raise argparse.ArgumentTypeError(f"bad effect {item!r} (none, drop:POINTS in (0, 1], cost:FACTOR > 0)")
        out.append(eff)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: print the power table (Markdown) and write the rows as JSON; 2 on bad input."""
    p = argparse.ArgumentParser(prog="python -m harness.gate.power", description=__doc__.split("\n\n")[0])
    p.add_argument("results", help="results directory with the gate's cells at many runs (e.g. results/gate64)")
    p.add_argument("--runs", type=_ints, default=[8, 16, 32, 48, 64], help="runs per cell to try (default 8,16,32,48,64)")
    p.add_argument("--effects", type=_effects, default=list(EFFECTS),
                   help="effects to inject, e.g. none,drop:0.2,cost:1.5 (default: the published table's)")
    p.add_argument("--trials", type=int, default=200, help="resamples per (effect, runs) (default 200)")
    p.add_argument("--churn", type=float, default=0.25, help="fraction of runs replaced in 'new' (default 0.25)")
    p.add_argument("--alpha", type=float, default=0.01)
    p.add_argument("--min-effect", type=float, default=1.5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default=None, help="write the rows here as JSON")
    try:
        a = p.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        if a.trials < 1 or not 0 <= a.churn <= 1:
            raise CompareError("--trials must be >= 1 and --churn in [0, 1]")
        from harness.results.store import load_records

        if not Path(a.results).is_dir():
            raise CompareError(f"{a.results!r} is not a results directory")
        cells = cell_stats(load_records(a.results))
        t0 = time.perf_counter()
        rows = measure(cells, a.runs, a.effects, trials=a.trials, churn=a.churn, alpha=a.alpha, min_effect=a.min_effect,
                       seed=a.seed, progress=lambda r: print(f"  {r.effect:<22} n={r.runs:<3} paired {r.paired:.3f}  "
                                                             f"unpaired {r.unpaired:.3f}", file=sys.stderr,
                                                             flush=True))
    except (CompareError, ValueError) as exc:
        print(f"gate-power: error: {exc}", file=sys.stderr)
        return 2
    print(format_table(rows, a.runs))
    print(f"\n{len(cells)} cells, {a.trials} trials per entry, churn {a.churn:g}, family-wise alpha {a.alpha:g} (Holm), "
          f"min cost effect {a.min_effect:g}; {time.perf_counter() - t0:.0f} s")
    if a.json:
        doc: Mapping[str, Any] = {"settings": {k: v for k, v in vars(a).items() if k not in ("json", "effects")}
                                  | {"effects": [e.label for e in a.effects]},
                                  "rows": [dataclasses.asdict(r) for r in rows]}
        Path(a.json).write_text(json.dumps(doc, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
