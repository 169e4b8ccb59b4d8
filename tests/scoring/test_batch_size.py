"""The runner's defaults: large CPU cases run one at a time in lockstep blocks (measured faster than
refilling lanes on a CPU), other cases and explicit batch sizes use refilling batches."""

import cases
from harness.run.plan import REFILL_QUEUE, block_size, default_batch_size, use_refill
from harness.run.plan import DEFAULT_BATCH
from harness.run.spec import RunSpec


def test_thesis_dlae_runs_one_at_a_time_on_cpu_unless_a_batch_size_is_given():
    case = cases.get_case("dlae")  # X is 16 x 10000: compute bound on a CPU
    spec = RunSpec("dlae", {}, "newton-mr", {}, 100, 0)
    assert default_batch_size(spec, case) == 1 and not use_refill(spec, case)
    lanes = RunSpec("dlae", {}, "newton-mr", {}, 100, 0, batch_size=20)
    assert use_refill(lanes, case) and block_size(lanes, 20, True) == REFILL_QUEUE


def test_small_cases_refill_and_solvers_with_their_own_solve_do_not():
    from tests.scoring._helpers import ReturnsStart

    case = cases.get_case("quartic")
    spec = RunSpec("quartic", {}, "newton-mr", {}, 20, 0)
    assert use_refill(spec, case) and block_size(spec, 20, True) == 20
    assert not use_refill(spec, case, ReturnsStart())


def test_small_case_is_batched_and_explicit_batch_size_wins():
    case = cases.get_case("quartic")
    assert default_batch_size(RunSpec("quartic", {}, "newton-mr", {}, 20, 0), case) == min(20, DEFAULT_BATCH)
    assert default_batch_size(RunSpec("quartic", {}, "newton-mr", {}, 20, 0, batch_size=3), case) == 3
    big = cases.get_case("dlae")
    assert default_batch_size(RunSpec("dlae", {}, "newton-mr", {}, 20, 0, batch_size=5), big) == 5


def test_field_cases_run_one_at_a_time_on_a_cpu_and_scorecard_cases_refill():
    """Data elements x parameters decides too: the Sec. 3.5 field cases (few data elements, hundreds of
    parameters, inner solves of up to ``dim`` HVPs) must not run as one vmapped refilling block."""
    from cases import get_case
    from harness.run.suite import default_specs

    for name, params in (("swish-autoencoder", {"n": 1000}), ("swish-mlp", {"n": 1000}), ("overparam-mlp", {})):
        spec = RunSpec(name, params, "newton-mr", {}, 20, 0)
        assert not use_refill(spec, get_case(name, **params)), name
    cells = {s.case: s for s in default_specs()}
    assert all(use_refill(s, get_case(s.case, **s.case_params)) for s in cells.values())  # scorecard unchanged
