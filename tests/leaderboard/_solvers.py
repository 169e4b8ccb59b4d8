"""Plug-in solvers for the leaderboard's real-run test."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from harness.solvers.newton_mr import NewtonMR


@dataclasses.dataclass(frozen=True)
class NewtonMRCopy(NewtonMR):
    """Newton-MR, unchanged, under another name: must get "no detectable difference" against newton-mr."""

    name: ClassVar[str] = "newton-mr-copy"
