"""A fake ``importlib.metadata.entry_points`` for the ``critbench.*`` groups (nothing is installed)."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable, Iterator

import pytest


def fake_entry_points(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str, str, str], None]]:
    """Generator for a fixture: yields ``publish(group, name, "module:attr")``; every registry
    (cases, certificates, experiments, solvers) forgets its entry-point scan before and after."""
    from cases.certificates import CERTIFICATES
    from cases.registry import CASES
    from harness.reproduce._registry import EXPERIMENTS
    from harness.solvers.registry import SOLVERS

    published: list[importlib.metadata.EntryPoint] = []
    real = importlib.metadata.entry_points

    def entry_points(**kw):  # type: ignore[no-untyped-def]
        group = kw.get("group")
        if group is not None and group.startswith("critbench."):
            return importlib.metadata.EntryPoints(ep for ep in published if ep.group == group)
        return real(**kw)

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    registries = (CASES, CERTIFICATES, EXPERIMENTS, SOLVERS)

    def reset() -> None:
        for reg in registries:
            reg.reset()

    def publish(group: str, name: str, value: str) -> None:
        published.append(importlib.metadata.EntryPoint(name, value, group))
        reset()

    reset()
    yield publish
    reset()
