"""The one schema of a run record (a line of ``DIR/runs.jsonl``).

:data:`RECORD_FIELDS` lists every field a record may hold: its name, the JSON
types it may take, whether it is required, and what it means.  The store
validates every line against it on load (:func:`check_record`), so a malformed
result file is a one-line error naming the file and line, never a table of
``None``; ``docs/design.md``'s field table is generated from it
(:func:`markdown_table`, checked by ``tests/trust/test_records.py``).

Outcomes (``outcome``), in the order the scorer decides them:

* ``error``    -- the solver raised; nothing was scored (``error`` holds the reason);
* ``invalid``  -- the solver's result is malformed (wrong shape/dtype of ``theta``,
  missing or mis-shaped ``status``/``n_iter``/``hvps``/``grads``); nothing was
  scored (``invalid_reason`` holds the reason).  Never a success;
* ``diverged`` -- non-finite final point, loss or gradient (or the solver said so);
* ``critical`` -- ``||grad L||^2 < 1e-10`` at the final point, recomputed by the harness;
* ``gradient-flat`` -- ``r > 0.9`` and ``r_H < 5e-4`` at the final point;
* ``other``    -- anything else.

This module imports only the standard library and :mod:`harness.results.outcomes` (no JAX, no NumPy).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from harness.results.outcomes import OUTCOMES  # re-exported: every outcome a record can carry

__all__ = ["FIELDS_BY_NAME", "OUTCOMES", "RECORD_FIELDS", "RecordField", "check_record", "markdown_table"]


@dataclasses.dataclass(frozen=True)
class RecordField:
    """One field of a run record.

    Attributes:
        name: the JSON key.
        types: the accepted JSON value types (``"str"``, ``"int"``, ``"float"``,
            ``"bool"``, ``"null"``, ``"object"``, ``"array"``); a ``float``
            field also accepts integers and the strings ``"inf"``/``"-inf"``
            the store writes for infinities.
        required: must be present in every record.
        doc: what the field means.
    """

    name: str
    types: tuple[str, ...]
    required: bool
    doc: str


def _f(name: str, types: str, required: bool, doc: str) -> RecordField:
    return RecordField(name, tuple(types.split("|")), required, doc)


_NUM = "float|null"
#: The record schema, in the order fields appear in a record.
RECORD_FIELDS: tuple[RecordField, ...] = (
    _f("run_id", "str", True, "resume key `case_key/solver_key/seed/run_index`"),
    _f("batch_id", "str|null", True, "the batch's array file `arrays/<batch_id>.npz`"),
    _f("batch_row", "int", True, "this run's row in the batch's arrays"),
    _f("case", "str", True, "case name as given"),
    _f("case_params", "object", False, "the case's complete parameters"),
    _f("case_key", "str", True, "`<case>-<hash of case_params>`"),
    _f("dim", "int", False, "number of parameters D"),
    _f("solver", "str", True, "solver name as given (registered name or `module:attr`)"),
    _f("solver_name", "str", False, "the solver object's `name`"),
    _f("solver_options", "object", False, "the solver's complete options (a copy taken before the solve)"),
    _f("solver_key", "str", True, "`<solver>-<hash of options, max_iter, tol>`"),
    _f("seed", "int", True, "seed of the initial points"),
    _f("run_index", "int", True, "global run index (initial point `run_index` of `seed`)"),
    _f("max_iter", "int", False, "iteration budget"),
    _f("tol", "float", False, "the solver's stopping tolerance on `||grad L||^2`"),
    _f("status", "str", True, "solver-reported status name (`converged`, `max_iter`, `stalled`, `diverged`; "
       "`invalid`/`error` when the result was rejected or the solver raised)"),
    _f("outcome", "str", True, "the harness's verdict: " + ", ".join(f"`{o}`" for o in OUTCOMES)),
    _f("invalid_reason", "str|null", False, "why the solver's result was rejected (outcome `invalid`)"),
    _f("error", "str|null", False, "the solver's exception, first line, or what happened to its worker "
       "(exited, killed, time limit), with global run index and seed (outcome `error` or `timeout`)"),
    _f("n_iter", "int|null", False, "solver-reported iterations (null if rejected)"),
    _f("hvps", "int|null", False, "Hessian-vector products: counted by the harness's oracles for NumPy plug-ins, "
       "by the shared loop for built-ins, else solver-reported (see `cost_source`)"),
    _f("grads", "int|null", False, "gradient evaluations (same provenance as `hvps`)"),
    _f("cost_source", "str", False, "who counted `hvps`/`grads`: `harness` (the shared loop of a built-in solver) "
       "or `reported` (a plug-in's own count, made in its process; older stores: `solver`)"),
    _f("seconds", _NUM, False, "batch wall time / real runs in the batch (compile time excluded)"),
    _f("compile_seconds", _NUM, False, "compile warm-up time (a worker's first batch of a cell, else 0)"),
    _f("time_limit", _NUM, False, "the time limit per run in effect, seconds (null: none enforced); a block of n "
       "runs gets n times it (from dispatch, its compile warm-up included) and past it is recorded `timeout`"),
    _f("sandbox", "str|null", False, "where the solver ran: `trusted` (a built-in solver in the shared workers), "
       "`bwrap` (a plug-in in its own bubblewrap sandbox), `none` (a plug-in without an OS sandbox)"),
    _f("judge_cpu_seconds", _NUM, False, "CPU seconds of the worker's process tree during the run's block, "
       "measured by the judge from /proc, / runs in the block (compile warm-up included)"),
    _f("judge_wall_seconds", _NUM, False, "wall seconds from dispatch to reply of the run's block, measured by "
       "the judge, / runs in the block"),
    _f("case_diagnostics", "object|null", False, "facts the case defines about the final point, evaluated by the "
       "judge (e.g. `population_gap`: a sampled-data loss minus its population loss)"),
    _f("suspect", "str|null", False, "why the judge distrusts a success (e.g. a certified point reached with 0 "
       "reported oracle calls)"),
    _f("hfro_method", "str", False, "how the solver estimated `||H||_F` in its trace"),
    _f("final_loss", _NUM, False, "loss at the final point (harness-computed)"),
    _f("final_grad_norm_sq", _NUM, False, "`||grad L||^2` at the final point (harness-computed)"),
    _f("final_r", _NUM, False, "flatness `r` at the final point"),
    _f("final_r_H", _NUM, False, "flatness `r_H` at the final point"),
    _f("flatness_source", "str|null", False, "`dense` (harness Hessian), `matrix-free` (harness HVPs: LSMR, "
       "Hutchinson `||H||_F`; dim > 2000) or `trace` (solver-reported)"),
    _f("max_r", _NUM, False, "largest `r` along the solver's trace (solver-reported, unverified)"),
    _f("min_r_H", _NUM, False, "smallest `r_H` along the solver's trace (solver-reported, unverified)"),
    _f("ever_gradient_flat", "bool|null", False, "verified: `r > 0.9`, `r_H < 5e-4` recomputed densely by the harness "
       "at the final point or a cutoff snapshot (thesis Sec. 3.4)"),
    _f("reported_ever_gradient_flat", "bool|null", False, "flat at some iterate of the solver's own `r`/`r_H` trace "
       "(solver-reported, unverified)"),
    _f("flat_checked_points", "int|null", False, "points (final + snapshots) at which the harness verified flatness"),
    _f("index_count", "int|null", False, "Hessian eigenvalues < -1e-5 at the final point (dense, dim <= 2000)"),
    _f("index_fraction", _NUM, False, "`index_count / dim`"),
    _f("nullity", "int|null", False, "Hessian eigenvalues with |lambda| <= 1e-5"),
    _f("matched_class", "str|null", False, "label of the certified critical class matched"),
    _f("class_loss", _NUM, False, "that class's certified loss"),
    _f("class_index_count", "int|null", False, "that class's certified index"),
    _f("class_index_fraction", _NUM, False, "that class's index fraction"),
    _f("loss_error", _NUM, False, "`final_loss - class_loss`"),
    _f("index_error_count", "int|null", False, "`index_count - class_index_count`"),
    _f("index_error_fraction", _NUM, False, "`index_fraction - class_index_fraction`"),
    _f("correct", "bool|null", False, "critical and matches its class's loss and index (null: unverifiable)"),
    _f("matched_flat_point", "str|null", False, "label of the certified gradient-flat point matched"),
    _f("index_source", "str|null", False, "`closed-form`: `index_count`/`nullity` are the matched class's closed form "
       "(dim > 2000, no dense Hessian), checked by `matrix_free`; absent/null: dense"),
    _f("matrix_free", "object|null", False, "harness's matrix-free checks at a large critical point: SLQ index and "
       "nullity fractions and `||H||_F` (estimate, error bar, closed form, agrees), deflated-Lanczos exact counts, "
       "`findings` (disagreements beyond the error bar), HVPs, seconds"),
    _f("matrix_free_agrees", "bool|null", False, "false: a matrix-free estimate disagrees with the closed form beyond "
       "its error bar (a finding, see `matrix_free.findings`); null: not checked"),
    _f("lanes", "int|null", False, "vmapped lanes of the run's batch (null: a plug-in's own `solve`)"),
    _f("lane_utilization", _NUM, False, "useful lane-iterations / (lanes x iterations executed) of the run's batch, "
       "counted by the shared loop (null: unknown)"),
    _f("provenance", "object", False, "`critbench, jax, jaxlib, numpy, python, device, git_commit, hostname, time`"),
)
FIELDS_BY_NAME: dict[str, RecordField] = {f.name: f for f in RECORD_FIELDS}


def _type_ok(value: Any, types: tuple[str, ...]) -> bool:
    for t in types:
        if t == "null" and value is None:
            return True
        if t == "str" and isinstance(value, str):
            return True
        if t == "bool" and isinstance(value, bool):
            return True
        if t == "int" and isinstance(value, int) and not isinstance(value, bool):
            return True
        if t == "float" and (
            (isinstance(value, (int, float)) and not isinstance(value, bool))
            or value in ("inf", "-inf")
            or (isinstance(value, float) and math.isnan(value))
        ):
            return True
        if t == "object" and isinstance(value, Mapping):
            return True
        if t == "array" and isinstance(value, list):
            return True
    return False


def check_record(obj: Any) -> str | None:
    """Why ``obj`` is not a valid run record, or ``None`` if it is.

    Checks that ``obj`` is a JSON object, that every required field of
    :data:`RECORD_FIELDS` is present, that every known field has an accepted
    type and that ``outcome`` is one of :data:`OUTCOMES`.  Unknown fields are
    allowed (later versions may add fields).
    """
    if not isinstance(obj, Mapping):
        return f"not a JSON object (got {type(obj).__name__})"
    missing = [f.name for f in RECORD_FIELDS if f.required and f.name not in obj]
    if missing:
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        return f"missing required field(s) {', '.join(repr(m) for m in missing[:3])}{more}"
    for key, value in obj.items():
        field = FIELDS_BY_NAME.get(key)
        if field is not None and not _type_ok(value, field.types):
            return f"field {key!r} must be {' or '.join(field.types)}, got {value!r:.40}"
    if obj["outcome"] not in OUTCOMES:
        return f"field 'outcome' must be one of {', '.join(OUTCOMES)}, got {obj['outcome']!r:.40}"
    return None


def markdown_table() -> str:
    """The record schema as the Markdown table in ``docs/design.md`` ("Run records")."""
    rows = ["| field | type | required | meaning |", "|---|---|---|---|"]
    for f in RECORD_FIELDS:
        rows.append(f"| `{f.name}` | {' or '.join(f.types)} | {'yes' if f.required else 'no'} | {f.doc} |")
    return "\n".join(rows)


if __name__ == "__main__":  # python -m harness.results.records > table (paste into docs/design.md)
    print(markdown_table())
