"""Progress display for the runner: runs done, successes so far, ETA.

:func:`make_progress` returns a rich progress bar on stderr when stderr is a
terminal and ``quiet`` is false, otherwise a silent :class:`NullProgress`.
Both implement the :class:`ProgressSink` protocol the runner calls.
"""

from __future__ import annotations

import sys
from typing import Any, Protocol


class ProgressSink(Protocol):
    """What :func:`harness.run.runner.run_spec` reports to."""

    def start(self, label: str, total: int, done: int = 0, successes: int = 0) -> None: ...

    def advance(self, runs: int, successes: int) -> None: ...

    def finish(self) -> None: ...


class NullProgress:
    """A progress sink that shows nothing (non-TTY, ``--quiet``, tests)."""

    def start(self, label: str, total: int, done: int = 0, successes: int = 0) -> None:
        pass

    def advance(self, runs: int, successes: int) -> None:
        pass

    def finish(self) -> None:
        pass

    def __enter__(self) -> "NullProgress":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.finish()


class RichProgress:
    """One rich progress bar per (case, solver) cell, on stderr."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("successes {task.fields[successes]}"),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self._task: Any = None
        self._successes = 0
        self._progress.start()

    def start(self, label: str, total: int, done: int = 0, successes: int = 0) -> None:
        self._successes = successes
        self._task = self._progress.add_task(label, total=total, completed=done, successes=successes)

    def advance(self, runs: int, successes: int) -> None:
        if self._task is None:
            return
        self._successes += successes
        self._progress.update(self._task, advance=runs, successes=self._successes)

    def finish(self) -> None:
        self._progress.stop()

    def __enter__(self) -> "RichProgress":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.finish()


def make_progress(quiet: bool = False) -> NullProgress | RichProgress:
    """A rich bar on stderr if it is a TTY and not ``quiet``; else :class:`NullProgress`."""
    if quiet or not sys.stderr.isatty():
        return NullProgress()
    return RichProgress()
