"""Fixtures of the trust tests: run plug-ins with or without the OS sandbox."""

from __future__ import annotations

import pytest

from harness.run.sandbox import probe

#: The warning a command prints once when plug-ins run without the sandbox.
UNSANDBOXED_WARNING = "critbench: warning: plug-in solvers run without an OS sandbox"


def error_lines(text: str) -> list[str]:
    """stderr's lines, less the unsandboxed warning (printed where bubblewrap is missing)."""
    return [ln for ln in text.strip().splitlines() if ln and not ln.startswith(UNSANDBOXED_WARNING)]


@pytest.fixture
def unsandboxed(monkeypatch):
    """Plug-ins run as plain processes (``CRITBENCH_SANDBOX=none``), for tests of what a process
    boundary alone holds and of attacks that need the filesystem."""
    monkeypatch.setenv("CRITBENCH_SANDBOX", "none")
    probe.cache_clear()
    yield
    monkeypatch.delenv("CRITBENCH_SANDBOX")
    probe.cache_clear()


@pytest.fixture
def sandboxed():
    """Skip unless bubblewrap can sandbox plug-ins on this machine."""
    probe.cache_clear()
    status = probe()
    if status.kind != "bwrap":
        pytest.skip(f"no OS sandbox here: {status.reason}")
    return status
