"""Plain progress lines when stderr is not a terminal (issue 30): runs done/total, successes, ETA, <= 1 per 10 s."""

from __future__ import annotations

import io

import pytest

from harness.run import progress as P


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_plain_lines_at_most_every_interval() -> None:
    out, clock = io.StringIO(), Clock()
    sink = P.PlainProgress(out, interval=10.0, clock=clock)
    sink.start("quartic × newton-mr", 100, done=20, successes=15)
    for _ in range(40):  # one run per second
        clock.t += 1.0
        sink.advance(1, 1)
    lines = out.getvalue().splitlines()
    assert len(lines) == 4  # at 10, 20, 30, 40 s
    assert lines[0] == "progress: quartic × newton-mr: 30/100 runs, 25 successes, ETA 1m10s"
    assert lines[-1] == "progress: quartic × newton-mr: 60/100 runs, 55 successes, ETA 40s"
    sink.start("xor × gnm", 5)
    clock.t += 3.0
    sink.advance(1, 0)  # 3 s after the last line: nothing
    assert len(out.getvalue().splitlines()) == 4


def test_make_progress_picks_lines_off_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert isinstance(P.make_progress(), P.PlainProgress)
    assert isinstance(P.make_progress(quiet=True), P.NullProgress)
    monkeypatch.setattr("sys.stderr", Tty())
    bar = P.make_progress()
    try:
        assert isinstance(bar, P.RichProgress)
    finally:
        bar.finish()
