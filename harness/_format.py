"""Numbers as plain text, one definition per style (terminal tables, markdown, the reproduction pages).

* :func:`number`: ``digits`` significant digits for floats (``%.{digits}g``),
  integers and strings as they are, ``missing`` for ``None`` and NaN.
* :func:`percent_ci`: a fraction and its interval as ``"67% [30, 90]"``.
* :func:`fixed`: p-values and ratios of the regression gate's table: 3 decimals
  below 10, 1 decimal from 10 to ``1e5``, 2 significant digits outside
  ``[1e-3, 1e5)`` (and for exactly 0, ``0.000``).
* :func:`exception_line`: an exception as one line, ``"TypeName: first line of its message"``.

Stdlib only; the bottom floor, importable from every room.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

__all__ = ["DASH", "MISSING", "exception_line", "fixed", "number", "percent_ci"]

#: What a table shows for a value it does not have.
MISSING = "-"
#: The typographic dash the HTML pages show for a missing value.
DASH = "–"


def number(v: Any, digits: int = 3, missing: str = MISSING) -> str:
    """``v`` as text: ``missing`` for ``None`` or NaN, ``%.{digits}g`` for a float, else ``str(v)``."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return missing
    if isinstance(v, float):
        return f"{v:.{digits}g}"
    return str(v)


def percent_ci(frac: float | None, ci: Sequence[float] | None) -> str:
    """``"p% [lo, hi]"`` (percent, no decimals) for a fraction and its interval; ``"p%"`` without one; ``-`` without a fraction."""
    if frac is None:
        return MISSING
    return f"{100 * frac:.0f}% [{100 * ci[0]:.0f}, {100 * ci[1]:.0f}]" if ci else f"{100 * frac:.0f}%"


def fixed(x: float | None) -> str:
    """A p-value or ratio in fixed notation: ``0.012``, ``12.5``; ``%.2g`` outside ``[1e-3, 1e5)``; ``-`` for ``None``."""
    if x is None:
        return MISSING
    if isinstance(x, float) and (x == 0 or 1e-3 <= abs(x) < 1e5):
        return f"{x:.3f}" if abs(x) < 10 else f"{x:.1f}"
    return f"{x:.2g}"


def exception_line(exc: BaseException) -> str:
    """``exc`` as one line: its type name and the first line of its message (the type name alone
    for an empty message)."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__
