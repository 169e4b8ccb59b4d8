"""The fixed spaces of ``Δ(S_{n_1} × ... × S_{n_m})`` in ``k x k`` matrices (NumPy only).

Shared by the ReLU teacher-student case (:mod:`cases.relu`, which rebuilds a certified point from
its stored unknowns) and the ball-arithmetic certificate (:mod:`cases.certificates._relu_ball`).
The group ``Δ(S_{n_1} × ... × S_{n_m})`` permutes the indices inside each block of consecutive
indices (sizes ``n_1..n_m``), the same permutation on rows and columns (Arjevani & Field 2020).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np


@dataclasses.dataclass(frozen=True)
class Layout:
    """The fixed space of ``Δ(S_{n_1} × ... × S_{n_m})`` for consecutive blocks ``sizes``."""

    sizes: tuple[int, ...]

    @property
    def k(self) -> int:
        return sum(self.sizes)

    @property
    def starts(self) -> list[int]:
        out, s = [], 0
        for n in self.sizes:
            out.append(s)
            s += n
        return out

    @property
    def unknowns(self) -> list[tuple]:
        """``("d", r)``, ``("o", r)`` and ``("b", r, s)`` in a fixed order."""
        out: list[tuple] = []
        for r, n in enumerate(self.sizes):
            out.append(("d", r))
            if n >= 2:
                out.append(("o", r))
        for r in range(len(self.sizes)):
            for s in range(len(self.sizes)):
                if r != s:
                    out.append(("b", r, s))
        return out

    def block_of(self) -> list[int]:
        return [r for r, n in enumerate(self.sizes) for _ in range(n)]

    def unknown_at(self, i: int, j: int) -> int:
        """Which unknown the entry ``W[i, j]`` equals."""
        blk = self.block_of()
        r, s = blk[i], blk[j]
        key = ("d", r) if i == j else ("o", r) if r == s else ("b", r, s)
        return self.unknowns.index(key)

    def orbit_matrix(self) -> np.ndarray:
        """``(k, k)`` integer array: entry ``(i, j)`` holds the index of its unknown."""
        return np.array([[self.unknown_at(i, j) for j in range(self.k)] for i in range(self.k)])

    def representative(self, m: int) -> tuple[int, int]:
        """The first entry ``(i, j)`` (row-major) of unknown ``m``'s orbit."""
        om = self.orbit_matrix()
        idx = np.argwhere(om == m)
        return int(idx[0][0]), int(idx[0][1])

    def matrix(self, z: Sequence[Any]) -> list[list[Any]]:
        om = self.orbit_matrix()
        return [[z[int(om[i, j])] for j in range(self.k)] for i in range(self.k)]
