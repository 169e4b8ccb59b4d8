"""Help texts, true defaults and usage errors of the CLI (issue 30)."""

from __future__ import annotations

import argparse

import pytest

from harness.cli import build_parser, main
from harness.run.plan import DEFAULT_BATCH


def _sub(parser: argparse.ArgumentParser, *names: str) -> argparse.ArgumentParser:
    for name in names:
        parser = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[name]
    return parser


@pytest.mark.parametrize("command", [("run",), ("suite", "run"), ("score",)])
def test_every_option_has_help_and_its_true_default(command: tuple[str, ...]) -> None:
    parser = _sub(build_parser(), *command)
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction) or not action.option_strings:
            continue
        assert action.help and action.help.strip(), f"{action.option_strings} has no help"
        d = action.default
        if isinstance(d, (int, float)) and not isinstance(d, bool):
            assert f"default {d:g}" in action.help, (action.option_strings, action.help)
    batch = next(a for a in _sub(build_parser(), "run")._actions if "--batch-size" in a.option_strings)
    assert f"default {DEFAULT_BATCH}" in batch.help and DEFAULT_BATCH == 32


def test_suite_run_help_is_its_own(capsys) -> None:
    assert main(["suite", "run", "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: critbench suite run") and "--solver NAME" in out and "Run one solver" in out


@pytest.mark.parametrize("argv,usage", [
    (["run", "--case", "quartic", "--solver", "newton-mr", "--out", "x", "--bogus"], "critbench run"),
    (["suite", "run", "--solver", "newton-mr", "--out", "x", "--bogus"], "critbench suite run"),
    (["score", "x", "--bogus"], "critbench score"),
])
def test_unknown_option_prints_the_subcommands_usage(argv: list[str], usage: str, capsys) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage: {usage} ") and f"{usage}: error: unrecognized arguments: --bogus" in err


def test_bench_refuses_an_unknown_case_in_one_line(capsys) -> None:
    assert main(["bench", "--case", "quartc", "--quick", "--compile-cache", "off"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "unknown case 'quartc'" in err


def test_bench_quick_respects_case(tmp_path, capsys) -> None:
    import json

    out = tmp_path / "bench.json"
    assert main(["bench", "--case", "example-1.1", "--quick", "--json", str(out), "--compile-cache", "off"]) == 0
    res = json.loads(out.read_text())
    assert [c["case"] for c in res["cases"]] == ["example-1.1"]
