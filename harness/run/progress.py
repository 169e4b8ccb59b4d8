"""Progress display for the runner: runs done, successes so far, ETA.

:func:`make_progress` returns a rich progress bar on stderr when stderr is a
terminal, plain progress lines on stderr (:class:`PlainProgress`, at most one
every :data:`PLAIN_INTERVAL` seconds) when it is not -- CI logs, pipes, files --
and a silent :class:`NullProgress` with ``quiet``.  All implement the
:class:`ProgressSink` protocol the runner calls.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, Protocol, TextIO

#: Least seconds between two plain progress lines.
PLAIN_INTERVAL = 10.0


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


def _duration(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else (f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s")


class PlainProgress(NullProgress):
    """Plain progress lines for logs: ``progress: LABEL: D/T runs, S successes, ETA 1m05s``.

    A line is written when at least ``interval`` seconds passed since the last
    one (or since the start), so a long command shows it is alive without
    flooding the log; the ETA extrapolates the runs done in this session of
    the current cell (runs already stored when it started count as done).
    """

    def __init__(self, stream: TextIO | None = None, interval: float = PLAIN_INTERVAL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._stream, self._interval, self._clock = stream, float(interval), clock
        self._last = clock()
        self._label, self._total, self._done, self._successes = "", 0, 0, 0
        self._t0, self._done0 = self._last, 0

    def start(self, label: str, total: int, done: int = 0, successes: int = 0) -> None:
        self._label, self._total, self._done, self._successes = label, int(total), int(done), int(successes)
        self._t0, self._done0 = self._clock(), int(done)

    def advance(self, runs: int, successes: int) -> None:
        self._done += int(runs)
        self._successes += int(successes)
        now = self._clock()
        if now - self._last >= self._interval:
            self._last = now
            self._write(self.line(now))

    def line(self, now: float | None = None) -> str:
        """The current progress line."""
        now = self._clock() if now is None else now
        ran = self._done - self._done0
        eta = "?" if ran <= 0 else _duration((now - self._t0) / ran * max(self._total - self._done, 0))
        return (f"progress: {self._label}: {self._done}/{self._total} runs, {self._successes} successes, "
                f"ETA {eta}")

    def _write(self, text: str) -> None:
        stream = self._stream or sys.stderr
        print(text, file=stream, flush=True)


def make_progress(quiet: bool = False) -> NullProgress | RichProgress | PlainProgress:
    """Nothing with ``quiet``; a rich bar on stderr if it is a terminal; else plain lines (:class:`PlainProgress`)."""
    if quiet:
        return NullProgress()
    if not sys.stderr.isatty():
        return PlainProgress()
    return RichProgress()
