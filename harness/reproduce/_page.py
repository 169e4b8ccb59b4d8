"""The page writer shared by every experiment: one self-contained HTML page and a
Markdown summary per experiment.

A :class:`Page` is a list of blocks -- :class:`Comparison` ("ours | published |
difference | reason | verdict" rows: each row with a published value says *reproduced*,
*differs: <probe>* -- only with a stored :class:`Probe` whose measurement lands on the
published value, the README's rule, enforced by :func:`check_row` -- or *not
reproduced*; a "critbench variant" or "check of critbench itself" row is never set
against a published number; a quick page is titled "quick" and its verdicts read "quick:
…"), :class:`Table`, :class:`Figure` (a matplotlib figure, embedded as base64 PNG in the
HTML and saved next to the Markdown) and :class:`Note` -- written by :func:`write_page`
to ``DIR/index.html``, ``DIR/summary.md``, ``DIR/summary.json`` and ``DIR/fig-*.png``.
No external assets: the HTML opens offline.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import html
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness._format import DASH, number
from harness.report._figures import DPI, to_data_uri

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;font-size:.9em;margin:.6em 0}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top} th{background:#f3f3f3}
.note{color:#444;max-width:900px} figure{margin:.8em 0} figcaption{color:#555;font-size:.85em;max-width:900px}
img{max-width:100%} code{background:#f6f6f6;padding:0 .2em}
"""


#: The verdicts a comparison row may carry (``differs`` is followed by ``": <the probe that explains it>"``).
VERDICTS = ("reproduced", "differs", "not reproduced")
#: The label of rows that run critbench's own setting rather than the paper's: never set against a
#: published number (their ``published`` cell must be empty or "–").
VARIANT = "critbench variant"
#: The label of rows that check critbench itself (a closed form against itself, a bound any solver meets):
#: not reproductions, never set against a published number.
SELF_CHECK = "check of critbench itself, not a reproduction"
#: ``published`` cells that mean "no published number" (such rows carry the verdict "–").
NO_PUBLISHED = ("–", "")
#: The prefix of every verdict on a quick page (a small instance, few runs: never "reproduced").
QUICK = "quick: "


@dataclasses.dataclass(frozen=True)
class Probe:
    """A measurement that may explain a difference from a published value.

    ``what``: the one setting changed against the paper's (a probe) or the span of choices the paper
    leaves open (a band); ``measured``: what it measured, as text; ``lands``: whether that lands on the
    published value; ``criterion``: how ``lands`` was decided.  A numeric probe also stores the interval
    ``[lo, hi]`` its measurement allows and the published ``target`` in the same unit, and then ``lands``
    is exactly ``lo <= target <= hi`` (:meth:`check`; the committed summaries are re-checked by a test).
    Build one with :meth:`band`, :meth:`count` or :meth:`qualitative`.
    """

    what: str
    measured: str
    lands: bool
    criterion: str
    lo: float | None = None
    hi: float | None = None
    target: float | None = None

    @classmethod
    def band(cls, what: str, lo: float, hi: float, target: float, unit: str = "%") -> Probe:
        """A band over choices the paper leaves open: lands when it holds ``target``."""
        return cls(what, f"{lo:.0f}–{hi:.0f}{unit}", lo <= target <= hi,
                   f"the band holds the published {target:g}{unit}", float(lo), float(hi), float(target))

    @classmethod
    def count(cls, what: str, k: int, n: int, published_pct: float, published_se: float) -> Probe:
        """A rerun with one setting changed, ``k`` of ``n`` runs, against ``published_pct ± published_se``:
        lands within two combined binomial standard errors (:func:`agrees`)."""
        if n == 0:
            return cls(what, "no runs", False, "no runs measured")
        p = 100 * k / n
        half = 2 * math.hypot(100 * math.sqrt(max((k / n) * (1 - k / n), 0.25 / n) / n), published_se)
        return cls(what, pct(k, n), agrees(k, n, published_pct, published_se),
                   f"within 2 combined binomial s.e. of the published {published_pct:g}%",
                   p - half, p + half, float(published_pct))

    @classmethod
    def qualitative(cls, what: str, measured: str, lands: bool, criterion: str) -> Probe:
        """A probe of a qualitative claim: ``lands`` decided by the stated ``criterion``."""
        return cls(what, measured, bool(lands), criterion)

    def check(self) -> None:
        """Raise ``ValueError`` unless a numeric probe's ``lands`` equals ``lo <= target <= hi`` and a
        qualitative one states its criterion."""
        nums = (self.lo, self.hi, self.target)
        if any(v is not None for v in nums):
            if any(v is None for v in nums):
                raise ValueError(f"probe {self.what!r}: lo, hi and target go together")
            if self.lands != (self.lo <= self.target <= self.hi):  # type: ignore[operator]
                raise ValueError(f"probe {self.what!r}: lands={self.lands} but [{self.lo}, {self.hi}] vs {self.target}")
        elif not self.criterion:
            raise ValueError(f"probe {self.what!r}: a qualitative probe states its criterion")

    def text(self) -> str:
        """One line: what was changed, what it measured and whether it lands (``"(probe)"`` at the end)."""
        return f"{self.what}: {self.measured} ({'lands' if self.lands else 'does not land'}: {self.criterion}; probe)"

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def verdict(ok: bool | None, probe: Probe | None = None) -> str:
    """A row's verdict by the README's rule: ``"reproduced"`` (``ok``); ``"differs: <probe>"`` only when
    ``ok`` is false and a stored ``probe`` lands on the published value; ``"not reproduced"`` otherwise
    (no probe, a probe that does not land, or ``ok is None``: nothing measured).  A reason given as
    text cannot make a row "differs": only a :class:`Probe` can."""
    if probe is not None and not isinstance(probe, Probe):
        raise TypeError(f"verdict() takes a Probe, not {type(probe).__name__}: a difference is explained by a "
                        "measurement")
    if ok:
        return "reproduced"
    if ok is not None and probe is not None:
        probe.check()
        if probe.lands:
            return f"differs: {probe.text()}"
    return "not reproduced"


def quick_verdict(v: str) -> str:
    """The verdict ``v`` on a quick page: ``"quick: …"``, never ``"reproduced"`` (a small instance with
    few runs is not the paper's setting)."""
    if v in NO_PUBLISHED or v == "–" or v.startswith(QUICK):
        return v
    if v == "reproduced":
        return f"{QUICK}agrees on the small instance (not a reproduction)"
    return f"{QUICK}{v}"


def check_row(row: Sequence[Any]) -> None:
    """Raise ``ValueError`` (one line) unless ``row`` is ``(quantity, ours, published, difference, why,
    verdict[, probe])`` with a verdict of :data:`VERDICTS` (or a :data:`QUICK` one) wherever a published
    value is given; a ``differs`` verdict comes with the :class:`Probe` it names, which lands on the
    published value; no :data:`VARIANT` or :data:`SELF_CHECK` row carries a published value."""
    if len(row) not in (6, 7):
        raise ValueError(f"comparison row {row[0]!r} has {len(row)} cells; expected 6 (…, verdict) or 7 (…, probe)")
    q, pub, v = str(row[0]), str(row[2]), str(row[5])
    probe = row[6] if len(row) == 7 else None
    if probe is not None:
        if not isinstance(probe, Probe):
            raise ValueError(f"row {q!r}: the 7th cell must be a Probe, got {type(probe).__name__}")
        probe.check()
    if pub in NO_PUBLISHED:
        return
    for label in (VARIANT, SELF_CHECK):
        if label in q:
            raise ValueError(f"row {q!r} is a {label} but is set against the published {pub!r}")
    base = v[len(QUICK):] if v.startswith(QUICK) else v
    if v.startswith(QUICK) and base.startswith("agrees on the small instance"):
        return
    if not (base in ("reproduced", "not reproduced") or (base.startswith("differs: ") and len(base) > 9)):
        raise ValueError(f"row {q!r} has verdict {v!r}; expected reproduced, 'differs: <probe>' or not reproduced")
    if v.startswith(QUICK) and base == "reproduced":
        raise ValueError(f"row {q!r}: a quick verdict is never 'reproduced'")
    if base.startswith("differs: "):
        if probe is None:
            raise ValueError(f"row {q!r} says {v!r} without the probe that explains it: by the README's rule "
                             "it is 'not reproduced'")
        if not probe.lands:
            raise ValueError(f"row {q!r} says differs, but its probe does not land on the published value")


@dataclasses.dataclass
class Comparison:
    """Rows ``(quantity, ours, published, difference, why, verdict[, probe])``; ``difference``/``why`` may be
    '', ``verdict`` is :func:`verdict`'s text (``"–"`` for a row without a published value) and ``probe``
    the :class:`Probe` a ``differs`` verdict names (checked by :func:`check_row`)."""

    title: str
    rows: list[tuple[Any, ...]]

    def __post_init__(self) -> None:
        for row in self.rows:
            check_row(row)


@dataclasses.dataclass
class Table:
    title: str
    headers: Sequence[str]
    rows: list[Sequence[Any]]


@dataclasses.dataclass
class Figure:
    fig: Any  # matplotlib.figure.Figure or None
    caption: str


@dataclasses.dataclass
class Note:
    text: str


@dataclasses.dataclass
class Page:
    """One experiment's page: ``title``, ``source`` (what it reproduces), ``command``, ``blocks``
    and ``numbers`` (a flat JSON-able dict of the headline numbers, for tests and the README)."""

    name: str
    title: str
    source: str
    command: str
    blocks: list[Any] = dataclasses.field(default_factory=list)
    numbers: dict[str, Any] = dataclasses.field(default_factory=dict)
    quick: bool = False

    def add(self, *blocks: Any) -> Page:
        self.blocks.extend(blocks)
        return self

    def as_quick(self) -> Page:
        """This page marked quick: title ``"quick: …"``, the verdict of every row with a published value
        :func:`quick_verdict`'s (never "reproduced"), ``quick`` set.  Idempotent."""
        if self.quick:
            return self
        self.quick = True
        self.title = f"{QUICK}{self.title}"
        for b in self.blocks:
            if isinstance(b, Comparison):
                b.rows = [r if str(r[2]) in NO_PUBLISHED else (*r[:5], quick_verdict(str(r[5])), *r[6:])
                          for r in b.rows]
                for r in b.rows:
                    check_row(r)
        return self


def pct(k: int, n: int) -> str:
    """``k/n`` as ``"40% (8/20)"`` (``"–"`` when ``n = 0``)."""
    return "–" if n == 0 else f"{100 * k / n:.0f}% ({k}/{n})"


def agrees(k: int, n: int, published_pct: float, published_se: float) -> bool:
    """Whether ``k/n`` and a published ``p% ± se`` agree within two combined binomial standard errors."""
    if n == 0:
        return False
    p = k / n
    se = math.sqrt(max(p * (1 - p), 0.25 / n) / n)  # floor: a 0/n or n/n count still has an uncertainty
    return abs(100 * p - published_pct) <= 2 * math.hypot(100 * se, published_se)


def pct_se(k: int, n: int) -> str:
    """``k/n`` as a percentage ± binomial standard error (the thesis's Table 3.1 convention)."""
    if n == 0:
        return "–"
    p = k / n
    return f"{100 * p:.0f}% ± {100 * math.sqrt(p * (1 - p) / n):.0f} ({k}/{n})"


def _esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _md_cell(x: Any) -> str:
    return str(x).replace("|", "\\|").replace("\n", " ")


def results_table(out_dir: str | Path, link_prefix: str = "") -> str:
    """Markdown table of every page's comparison rows that have a published value, under ``out_dir``
    (experiment, quantity, ours, published, command): the README's results section."""
    lines = ["| experiment | quantity | ours | published | verdict | command |", "|---|---|---|---|---|---|"]
    for f in sorted(Path(out_dir).glob("*/summary.json")):
        s = json.loads(f.read_text(encoding="utf-8"))
        for row in s.get("comparisons", []):
            q, ours, pub = row[:3]
            if pub in NO_PUBLISHED or VARIANT in str(q):
                continue
            v = row[5] if len(row) > 5 else "not judged: a summary from before verdicts (rerun --full, then publish)"
            lines.append(f"| [{s['name']}]({link_prefix}{s['name']}/summary.md) | {_md_cell(q)} | {_md_cell(ours)} | "
                         f"{_md_cell(pub)} | {_md_cell(v)} | `{s['command']}` |")
    return "\n".join(lines) + "\n"


def write_page(page: Page, out_dir: str | Path) -> Path:
    """Write ``index.html``, ``summary.md``, ``summary.json`` and the figures' PNGs to ``out_dir``.

    A page whose command runs ``--quick`` (or with ``page.quick``) is written as :meth:`Page.as_quick`:
    titled "quick", every verdict "quick: …"."""
    if page.quick or "--quick" in page.command.split():
        page.as_quick()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    h = [f"<h1>{_esc(page.title)}</h1><p class='note'>Reproduces: {_esc(page.source)}.<br>"
         f"Command: <code>{_esc(page.command)}</code>; generated {_esc(stamp)}.</p>"]
    md = [f"# {page.title}", "", f"Reproduces: {page.source}.", "", f"Command: `{page.command}`", ""]
    n_fig = 0
    for b in page.blocks:
        if isinstance(b, Comparison):
            h.append(f"<h2>{_esc(b.title)}</h2><table><tr><th>quantity</th><th>ours</th><th>published</th>"
                     "<th>difference</th><th>likely reason</th><th>verdict</th></tr>")
            h.extend("<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in row[:6]) + "</tr>" for row in b.rows)
            h.append("</table>")
            md += [f"## {b.title}", "", "| quantity | ours | published | difference | likely reason | verdict |",
                   "|---|---|---|---|---|---|"]
            md += ["| " + " | ".join(_md_cell(c) for c in row[:6]) + " |" for row in b.rows]
            md.append("")
        elif isinstance(b, Table):
            h.append(f"<h2>{_esc(b.title)}</h2><table><tr>" + "".join(f"<th>{_esc(c)}</th>" for c in b.headers)
                     + "</tr>")
            h.extend("<tr>" + "".join(f"<td>{_esc(number(c, missing=DASH))}</td>" for c in row) + "</tr>" for row in b.rows)
            h.append("</table>")
            md += [f"## {b.title}", "", "| " + " | ".join(map(_md_cell, b.headers)) + " |",
                   "|" + "---|" * len(b.headers)]
            md += ["| " + " | ".join(_md_cell(number(c, missing=DASH)) for c in row) + " |" for row in b.rows]
            md.append("")
        elif isinstance(b, Figure):
            if b.fig is None:
                h.append(f"<p class='note'>{_esc(b.caption)}: no data for this plot.</p>")
                continue
            n_fig += 1
            png = out / f"fig-{n_fig}.png"
            b.fig.savefig(png, format="png", dpi=DPI, bbox_inches="tight")
            h.append(f"<figure><img alt='{_esc(b.caption)}' src='{to_data_uri(b.fig)}'>"
                     f"<figcaption>{_esc(b.caption)}</figcaption></figure>")
            md += [f"![{_md_cell(b.caption)}]({png.name})", "", f"*{b.caption}*", ""]
        elif isinstance(b, Note):
            h.append(f"<p class='note'>{_esc(b.text)}</p>")
            md += [b.text, ""]
        else:
            raise TypeError(f"unknown page block {type(b).__name__}")
    doc = ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
           f"<title>{_esc(page.title)}</title><style>{_CSS}</style></head><body>{''.join(h)}</body></html>")
    (out / "index.html").write_text(doc, encoding="utf-8")
    (out / "summary.md").write_text("\n".join(md), encoding="utf-8")
    full_rows = [row for b in page.blocks if isinstance(b, Comparison) for row in b.rows]
    comparisons = [list(row[:6]) for row in full_rows]
    rows = [{"quantity": r[0], "ours": r[1], "published": r[2], "difference": r[3], "why": r[4], "verdict": r[5],
             "probe": r[6].to_json() if len(r) > 6 and r[6] is not None else None}
            for r in full_rows]
    (out / "summary.json").write_text(json.dumps({"name": page.name, "title": page.title, "command": page.command,
                                                  "quick": page.quick,
                                                  "numbers": page.numbers, "comparisons": comparisons,
                                                  "rows": rows},
                                                 indent=2, default=str),
                                      encoding="utf-8")
    return out / "index.html"
