"""Report section "Changes against a baseline": the gate's tests and the runs that changed.

Given a baseline (a results directory or a baseline JSON file), the section
shows :func:`harness.gate.compare.compare` per cell (metric, test used -- paired
McNemar / sign or unpaired Fisher / Mann-Whitney --, values, p-value, Holm
threshold, verdict), then per paired cell the runs whose verdict changed and
the runs whose HVPs changed most (same initial point before and after).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["baseline_section"]


def _esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _num(x: float | None) -> str:
    return "–" if x is None else f"{x:.3g}"


def baseline_section(records: Sequence[Mapping[str, Any]], baseline: str | Path, *, limit: int = 20) -> str:
    """HTML ``<section>`` comparing ``records`` (this report's runs) with ``baseline``.

    Raises:
        harness.gate.compare.CompareError: the baseline is missing or malformed.
    """
    from harness.gate.compare import changed_runs, compare, cost_changes, load_cells

    rep = compare(load_cells(baseline), list(records))
    rows = []
    for c in rep.cells:
        for i, t in enumerate(c.tests):
            test = f"{t.test} (n={t.n})" if t.test and t.n is not None else (t.test or "–")
            verdict = "REGRESSION" if t.regression else (t.note or "ok")
            rows.append(f'<tr class="cmp-row"><td class="t">{_esc(c.label if i == 0 else "")}</td>'
                        f'<td class="t">{_esc(t.metric)}</td><td class="t">{_esc(test)}</td><td>{_num(t.base)}</td>'
                        f"<td>{_num(t.new)}</td><td>{_num(t.p)}</td><td>{_num(t.threshold)}</td>"
                        f'<td class="t">{"<b>REGRESSION</b>" if t.regression else _esc(verdict)}</td></tr>')
    head = ("<tr><th>cell</th><th>metric</th><th>test</th><th>baseline</th><th>this run</th><th>p</th>"
            "<th>Holm threshold</th><th>verdict</th></tr>")
    verdict = ("no significant regression" if rep.ok else
               "REGRESSION in: " + "; ".join(f"{c.label} ({t.metric})" for c, t in rep.regressions))
    parts = ['<section class="baseline"><h2>Changes against the baseline</h2>',
             f"<p class='note'>Baseline <code>{_esc(baseline)}</code>. {rep.n_tests} one-sided tests at family-wise "
             f"alpha {rep.alpha:g} (Holm); runs pair on (seed, run index), i.e. the same initial point; "
             f"{sum(c.is_paired for c in rep.cells)}/{len(rep.cells)} cells paired. <b>{_esc(verdict)}</b></p>",
             f"<table class='compare'>{head}{''.join(rows)}</table>"]
    for c in rep.cells:
        ch, cost = changed_runs(c), cost_changes(c)
        if ch:
            items = "".join(f'<li class="changed-run">{_esc(x.describe())}</li>' for x in ch[:limit])
            more = f"<li>… and {len(ch) - limit} more</li>" if len(ch) > limit else ""
            parts.append(f"<h3>{_esc(c.label)}: {len(ch)} of {len(c.paired)} runs changed verdict</h3>"
                         f"<ul>{items}{more}</ul>")
        if cost:
            items = "".join(f'<li class="cost-change">run {x.before.run_index} (seed {x.before.seed}): '
                            f"{x.before.hvps} → {x.after.hvps} HVPs (×{x.ratio:.2f})</li>" for x in cost)
            parts.append(f"<h3>{_esc(c.label)}: largest HVP changes</h3><ul>{items}</ul>")
    for side, cells in (("baseline", rep.only_base), ("this run", rep.only_new)):
        if cells:
            parts.append(f"<p class='note'>Only in {side} (not compared): "
                         f"{_esc(', '.join(c.label for c in cells))}</p>")
    parts.append("</section>")
    return "\n".join(parts)
