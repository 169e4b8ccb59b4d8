"""Sweep files: parse a TOML sweep and expand it into cells and shards.

A sweep file names cases with parameter grids, solvers with option grids,
seeds, runs per cell and budgets::

    runs = 16            # runs per cell (per seed)
    seeds = [0, 1]       # one cell per seed
    batch_size = 8       # vmapped lanes (default: as critbench run)
    max_iter = 200       # budget; a list makes it a grid axis
    tol = 1e-10          # stopping tolerance on ||grad L||^2; a list: a grid axis

    [[case]]
    name = "dlae"
    params = { k = [4, 6], p = 2, n = 200, exact = true }

    [[solver]]
    name = "newton-mr"
    options = { forcing = [0.1, 0.5] }

Every list value of ``params`` / ``options`` (and ``max_iter``, ``tol``) is a
grid axis; a scalar is fixed.  For a parameter whose default is a tuple (e.g.
``dlae``'s ``spectrum``) a list of numbers is one value and a list of lists is
the axis: ``spectrum = [4.0, 3.0]`` is fixed, ``spectrum = [[4.0, 3.0], [2.0]]``
is swept.  Values are typed like the registries' defaults by the one parse
every source shares (:func:`harness.run.spec.type_values`, applied by
:class:`~harness.run.spec.RunSpec`): ``forcing = 0`` here and
``--option forcing=0.0`` on the command line make the same cell, with the same
keys and run ids.  A cell is one point of the product
``case x params grid x solver x options grid x max_iter x tol x seed`` and is
described by a :class:`harness.run.spec.RunSpec`, planned and executed by the
one pipeline (:func:`harness.run.cell.resolve`, :func:`harness.run.execute.execute`)
exactly as ``critbench run`` plans it: the same lanes, run ids and results.

Errors are :class:`SweepError` with one line naming the file and key (or the
TOML line), which the CLI prints with exit status 2.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.run.spec import typed_case_params, typed_solver_options
from harness.run.spec import RunSpec

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["Sweep", "SweepError", "load_sweep", "parse_sweep"]

_TOP_KEYS = {"runs", "seeds", "batch_size", "max_iter", "tol", "case", "solver", "name"}
_CASE_KEYS = {"name", "params"}
_SOLVER_KEYS = {"name", "options"}


class SweepError(ValueError):
    """A malformed sweep file (one line naming the key or line)."""


@dataclasses.dataclass(frozen=True)
class Sweep:
    """A parsed sweep: its cells and the grid axes that vary across them.

    Attributes:
        name: the sweep's name (``name = ...`` or the file stem).
        cells: one :class:`RunSpec` per cell, in expansion order.
        swept: the swept parameters, ``"case.<param>"`` / ``"solver.<option>"`` /
            ``"max_iter"`` / ``"tol"`` / ``"seed"``, that take more than one value.
    """

    name: str
    cells: tuple[RunSpec, ...]
    swept: tuple[str, ...]

    @property
    def runs(self) -> int:
        return sum(c.runs for c in self.cells)


def _grid(table: Mapping[str, Any], where: str, defaults: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """The product of a table whose list values are grid axes (for a key whose
    default in ``defaults`` is a tuple: a list of lists; a flat list is one value)."""
    if not isinstance(table, Mapping):
        raise SweepError(f"{where} must be a table (e.g. {{ k = [4, 6] }})")
    keys = list(table)
    axes = []
    for k in keys:
        v = table[k]
        if isinstance(v, Mapping):
            raise SweepError(f"{where}.{k} must be a value or a list of values, not a table")
        if isinstance(v, list) and isinstance((defaults or {}).get(k), tuple) and (
                not v or not all(isinstance(x, list) for x in v)):
            axes.append([v])  # one tuple value, not an axis
        elif isinstance(v, list):
            if not v:
                raise SweepError(f"{where}.{k} is an empty list (a grid axis needs at least one value)")
            axes.append(v)
        else:
            axes.append([v])
    return [dict(zip(keys, combo)) for combo in itertools.product(*axes)]


def _int(doc: Mapping[str, Any], key: str, default: Any, *, minimum: int) -> Any:
    v = doc.get(key, default)
    vals = v if isinstance(v, list) else [v]
    if v is None:
        return None
    if not vals or any(isinstance(x, bool) or not isinstance(x, int) or x < minimum for x in vals):
        raise SweepError(f"'{key}' must be an integer >= {minimum}" + (" or a list of them" if key != "runs" else "")
                         + f", got {v!r}")
    return v


def parse_sweep(doc: Mapping[str, Any], name: str = "sweep", where: str = "sweep") -> Sweep:
    """Expand a parsed sweep document into cells (see the module docstring).

    Raises:
        SweepError: an unknown or missing key, or a value of the wrong type
            (the message names the key).
    """
    unknown = sorted(set(doc) - _TOP_KEYS)
    if unknown:
        raise SweepError(f"{where}: unknown key '{unknown[0]}' (allowed: {', '.join(sorted(_TOP_KEYS))})")
    for key in ("case", "solver", "runs"):
        if key not in doc:
            raise SweepError(f"{where}: missing key '{key}'")
    runs = _int(doc, "runs", None, minimum=1)
    if isinstance(runs, list):
        raise SweepError(f"{where}: 'runs' must be one integer >= 1, got {runs!r}")
    seeds = _int(doc, "seeds", [0], minimum=0)
    seeds = seeds if isinstance(seeds, list) else [seeds]
    batch = _int(doc, "batch_size", None, minimum=1)
    if isinstance(batch, list):
        raise SweepError(f"{where}: 'batch_size' must be one integer >= 1, got {batch!r}")
    max_iters = _int(doc, "max_iter", 500, minimum=0)
    max_iters = max_iters if isinstance(max_iters, list) else [max_iters]
    tols = doc.get("tol", 1e-10)
    tols = tols if isinstance(tols, list) else [tols]
    if not tols or any(isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) or t < 0
                       for t in tols):
        raise SweepError(f"{where}: 'tol' must be a number >= 0 or a list of them, got {doc.get('tol')!r}")

    def entries(key: str, allowed: set[str], sub: str) -> list[tuple[str, list[dict[str, Any]]]]:
        items = doc[key]
        if isinstance(items, Mapping):
            items = [items]
        if not isinstance(items, list) or not items:
            raise SweepError(f"{where}: '{key}' must be one or more [[{key}]] tables")
        out = []
        for n, item in enumerate(items):
            w = f"{key}[{n}]"
            if not isinstance(item, Mapping):
                raise SweepError(f"{where}: '{w}' must be a table with 'name'")
            bad = sorted(set(item) - allowed)
            if bad:
                raise SweepError(f"{where}: unknown key '{w}.{bad[0]}' (allowed: {', '.join(sorted(allowed))})")
            if not isinstance(item.get("name"), str) or not item["name"]:
                raise SweepError(f"{where}: '{w}.name' must be a non-empty string")
            out.append((item["name"], _grid(item.get(sub, {}), f"{where}: '{w}.{sub}'",
                                            _defaults(key, item["name"], where))))
        return out

    cases = entries("case", _CASE_KEYS, "params")
    solvers = entries("solver", _SOLVER_KEYS, "options")
    cells = []
    for (cname, cgrid), (sname, sgrid) in itertools.product(cases, solvers):
        for cp, so, mi, tol, seed in itertools.product(cgrid, sgrid, max_iters, tols, seeds):
            try:
                cells.append(RunSpec(cname, cp, sname, so, runs, seed, max_iter=mi, tol=float(tol),
                                     batch_size=batch))
            except ValueError as exc:
                raise SweepError(f"{where}: {exc}") from None
    swept: list[str] = []

    def note(label: str, groups: Mapping[Any, list[Any]]) -> None:
        if label not in swept and any(len({repr(v) for v in vals}) > 1 for vals in groups.values()):
            swept.append(label)

    # a case parameter / solver option is swept if it varies among cells of the same case / solver
    for k in _keys(c.case_params for c in cells):
        note(f"case.{k}", _by(cells, lambda c: c.case, lambda c: c.case_params.get(k)))
    for k in _keys(c.solver_options for c in cells):
        note(f"solver.{k}", _by(cells, lambda c: c.solver, lambda c: c.solver_options.get(k)))
    for label in ("max_iter", "tol", "seed"):
        note(label, _by(cells, lambda c: None, lambda c, a=label: getattr(c, a)))
    sname = doc.get("name", name)
    if not isinstance(sname, str):
        raise SweepError(f"{where}: 'name' must be a string, got {sname!r}")
    return Sweep(sname, tuple(cells), tuple(swept))


def _defaults(kind: str, name: str, where: str) -> dict[str, Any]:
    """The registry defaults of case / solver ``name`` (the type source), or SweepError."""
    try:
        return typed_case_params(name, {}) if kind == "case" else typed_solver_options(name, {})
    except ValueError as exc:
        raise SweepError(f"{where}: {exc}") from None


def _by(cells: Sequence[RunSpec], group: Any, value: Any) -> dict[Any, list[Any]]:
    out: dict[Any, list[Any]] = {}
    for c in cells:
        out.setdefault(group(c), []).append(value(c))
    return out


def _keys(dicts: Any) -> list[str]:
    return list(dict.fromkeys(k for d in dicts for k in d))


def load_sweep(path: str | Path) -> Sweep:
    """Read and expand a sweep file.

    Raises:
        SweepError: the file is missing, not TOML (names the line), or malformed.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise SweepError(f"cannot read sweep file {str(p)!r}: {exc.strerror}") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SweepError(f"{p}: not valid TOML: {str(exc).splitlines()[0]}") from None
    return parse_sweep(doc, name=p.stem, where=str(p))
