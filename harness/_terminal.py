"""Plain-text tables that fit the terminal (``critbench``, ``critbench score``, ``critbench leaderboard``).

Width (:func:`terminal_width`): the terminal's columns when stdout is a
terminal (``COLUMNS`` overrides, as :func:`shutil.get_terminal_size` does),
else ``COLUMNS`` when set, else :data:`PIPED_WIDTH` (100).

Layout (:func:`format_table`): columns separated by two spaces, a rule under
the header.  Cells of *atomic* columns (numbers, intervals such as
``97% [93, 99]``) are never broken, so a number is never cut; text columns
(names, evidence) and headers wrap at spaces (a single word longer than its
column is folded).  When even the narrowest layout is wider than the width,
the table is printed at its narrowest (wider than asked, nothing cut): the
callers choose a compact default column set that fits, and ``--wide`` shows
every column.
"""

from __future__ import annotations

import os
import shutil
import sys
import textwrap
from collections.abc import Iterable, Sequence

__all__ = ["PIPED_WIDTH", "format_table", "print_table", "terminal_width"]

#: Width when stdout is not a terminal and ``COLUMNS`` is unset.
PIPED_WIDTH = 100
#: Between two columns.
GAP = "  "


def terminal_width(stream: object = None) -> int:
    """Columns available on ``stream`` (default stdout): see the module docstring; at least 20."""
    stream = sys.stdout if stream is None else stream
    env = os.environ.get("COLUMNS", "").strip()
    try:
        tty = bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError):
        tty = False
    if env.isdigit() and int(env) > 0:
        return max(20, int(env))
    if tty:
        return max(20, shutil.get_terminal_size((PIPED_WIDTH, 24)).columns)
    return PIPED_WIDTH


def _wrap(text: str, width: int) -> list[str]:
    if not text:
        return [""]
    out: list[str] = []
    for para in text.split("\n"):
        out += textwrap.wrap(para, width, break_long_words=True, break_on_hyphens=False) or [""]
    return out


def _longest_word(text: str) -> int:
    return max((len(w) for w in text.split()), default=0)


def format_table(head: Sequence[str], body: Sequence[Sequence[str]], *, width: int | None = None,
                 atomic: Iterable[int] = (), title: str | None = None, caption: str | None = None) -> str:
    """``body`` under ``head`` as lines no wider than ``width`` when possible (see the module docstring).

    Args:
        atomic: indices of the columns whose cells are never broken (numbers).
        title, caption: wrapped to the table's width, above / below it.
    """
    width = terminal_width() if width is None else width
    atomic = set(atomic)
    n = len(head)
    cells = [[str(c) for c in row] for row in body]
    full = [max([len(head[j]), *(len(r[j]) for r in cells)]) for j in range(n)]
    cell_w = [max([_longest_word(head[j]), *(len(r[j]) for r in cells)]) for j in range(n)]
    least = [max([_longest_word(head[j]), *((len(r[j]) if j in atomic else min(_longest_word(r[j]), 12))
                                             for r in cells)], default=1) for j in range(n)]
    room = width - len(GAP) * (n - 1)
    widths = list(full)
    # first wrap headers (down to their cells), then wrap text cells (down to their least width),
    # each time taking a character from the widest column that can give one
    for floor in ([min(c, f) for c, f in zip(cell_w, full)], [max(1, min(lo, f)) for lo, f in zip(least, full)]):
        excess = sum(widths) - room
        while excess > 0:
            j = max(range(n), key=lambda k: (widths[k] > floor[k], widths[k]))
            if widths[j] <= floor[j]:
                break
            widths[j] -= 1
            excess -= 1
    lines: list[str] = []
    total = sum(widths) + len(GAP) * (n - 1)
    if title:
        lines += _wrap(title, max(total, 20))

    def emit(row: Sequence[str], is_head: bool = False) -> None:
        parts = [_wrap(c, widths[j]) if (is_head or j not in atomic) else [c] for j, c in enumerate(row)]
        for k in range(max(len(p) for p in parts)):
            line = GAP.join((p[k] if k < len(p) else "").ljust(widths[j]) for j, p in enumerate(parts))
            lines.append(line.rstrip())

    emit(head, True)
    lines.append(GAP.join("-" * w for w in widths))
    for row in cells:
        emit(row)
    if caption:
        lines += _wrap(caption, max(total, 20))
    return "\n".join(lines)


def print_table(head: Sequence[str], body: Sequence[Sequence[str]], **kwargs: object) -> None:
    """:func:`format_table` printed on stdout, followed by an empty line."""
    print(format_table(head, body, **kwargs) + "\n")  # type: ignore[arg-type]
