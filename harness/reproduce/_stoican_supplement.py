"""Add Stoican's Algorithm 1 and gradient-floor rows to the committed ``stoican-6.1`` page without a ``--full``
rerun (the page's 1000 end points are not stored; a --full rerun takes hours on 2 cores): the protocol is rerun
on the first N of the page's starts, :func:`harness.reproduce.stoican.escape_numbers` measured on them and
stored in the summary, and the rows added from those stored numbers by the experiment's own row functions
(:func:`harness.reproduce._rejudge.rejudge`).

``python -m harness.reproduce._stoican_supplement DOCS N``
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from . import stoican as st
from ._rejudge import attach_measured, rejudge

SUPPLEMENT_NOTE = ("The Algorithm 1 and gradient-floor rows were added to this committed page by "
                   "`python -m harness.reproduce._stoican_supplement DOCS N` from the first N of its starts (the "
                   "same starts, Adam lr and steps and SLSQP, rerun: the page's end points are not stored); the "
                   "other rows are unchanged. A --full rerun computes them on all starts.")


def supplement(docs: str | Any, n_sub: int) -> dict[str, Any]:
    """Measure :func:`~harness.reproduce.stoican.escape_numbers` on
    :func:`~harness.reproduce.stoican.subset_ends` of the committed page ``docs/stoican-6.1`` (with
    ``starts_measured``) and :func:`attach_escape` them.  Returns the numbers."""
    from cases import get_case

    s = json.loads((Path(docs) / st.NAME / "summary.json").read_text(encoding="utf-8"))
    n, budget = s["numbers"]["starts"], s["numbers"]["budgets"][-1]
    ends = st.subset_ends(n, n_sub, budget)
    cl = st.classify(get_case("si-line", width=4, init="xavier"), get_case("si-line", width=5, init="xavier"), ends)
    e = {**st.escape_numbers(ends, cl), "starts_measured": n_sub}
    attach_escape(docs, e)
    return e


def attach_escape(docs: str | Any, e: dict[str, Any]) -> None:
    """Store :func:`~harness.reproduce.stoican.escape_numbers`' ``e`` in the committed page ``docs/stoican-6.1``
    (``numbers["escape"]`` and :data:`SUPPLEMENT_NOTE`) and add its rows from those stored numbers
    (:func:`harness.reproduce._rejudge.rejudge`)."""
    attach_measured(docs, st.NAME, lambda s: s["numbers"].__setitem__("escape", e), "supplemented", SUPPLEMENT_NOTE)
    rejudge(docs)


if __name__ == "__main__":
    print(supplement(sys.argv[1], int(sys.argv[2])))
