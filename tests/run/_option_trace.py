"""Where an option's value travels: the files whose functions receive it as plain data.

:func:`trace_files` runs a callable under :func:`sys.setprofile` and records each function call,
in a file under ``root``, one of whose arguments holds the marked value as plain data: the value
itself (a float equal to ``value``), a string containing ``text`` (a ``KEY=VALUE`` item), or a
``dict``/``list``/``tuple`` holding one of those up to three levels down (the options, a record, a
list of records).  A typed object (a dataclass such as ``RunSpec`` or ``Cell``) is an opaque carrier:
a function that only passes it on does not handle the option.  A dataclass's generated
``__init__`` counts for the file that defines the class (constructing ``SolverRef(name, options)``
hands the options to ``cell.py``).  Arguments named in ``skip`` are not looked at.

Tracing stops when the first call of a function named ``stop`` returns (``append_batch``: the
record is stored), so readers of the stored results are not counted.
"""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Callable, Iterable
from typing import Any


def _holds(x: Any, value: float, text: str, depth: int = 0) -> bool:
    if isinstance(x, float):
        return x == value
    if isinstance(x, str):
        return text in x
    if depth >= 3:
        return False
    if isinstance(x, dict):
        return any(_holds(v, value, text, depth + 1) for v in x.values())
    if isinstance(x, (list, tuple)) and not hasattr(x, "_fields"):
        return any(_holds(v, value, text, depth + 1) for v in list(x)[:64])
    return False


def trace_files(fn: Callable[[], Any], value: float, *, root: str, stop: str = "append_batch",
                skip: Iterable[str] = ()) -> tuple[Any, dict[str, list[str]]]:
    """``fn()``'s result and ``{file relative to root: [function names]}`` in the order first reached."""
    text, skip = repr(value), set(skip)
    root = os.path.abspath(root) + os.sep
    hits: dict[str, list[str]] = {}
    done = False

    def prof(frame: Any, event: str, arg: Any) -> None:
        nonlocal done
        if done:
            return
        code = frame.f_code
        if event == "return" and code.co_name == stop:
            done = True
            return
        if event != "call":
            return
        path = code.co_filename
        if path.startswith("<") and code.co_name == "__init__" and "self" in frame.f_locals:
            try:
                path = inspect.getfile(type(frame.f_locals["self"]))
            except TypeError:
                return
        if not path.startswith(root):
            return
        n_args = code.co_argcount + code.co_kwonlyargcount + bool(code.co_flags & 4) + bool(code.co_flags & 8)
        local = frame.f_locals
        if any(name in local and name not in skip and _holds(local[name], value, text)
               for name in code.co_varnames[:n_args]):
            funcs = hits.setdefault(os.path.relpath(path, root), [])
            if code.co_name not in funcs:
                funcs.append(code.co_name)

    old = sys.getprofile()
    sys.setprofile(prof)
    try:
        out = fn()
    finally:
        sys.setprofile(old)
    return out, hits
