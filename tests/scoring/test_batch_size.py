"""The runner's default batch size: large CPU cases run one at a time (vmap lockstep)."""

import cases
from harness.runner import DEFAULT_BATCH, RunSpec, default_batch_size


def test_thesis_dlae_runs_one_at_a_time_on_cpu():
    case = cases.get_case("dlae")  # X is 16 x 10000: compute bound on a CPU
    assert default_batch_size(RunSpec("dlae", {}, "newton-mr", {}, 20, 0), case) == 1


def test_small_case_is_batched_and_explicit_batch_size_wins():
    case = cases.get_case("quartic")
    assert default_batch_size(RunSpec("quartic", {}, "newton-mr", {}, 20, 0), case) == min(20, DEFAULT_BATCH)
    assert default_batch_size(RunSpec("quartic", {}, "newton-mr", {}, 20, 0, batch_size=3), case) == 3
    big = cases.get_case("dlae")
    assert default_batch_size(RunSpec("dlae", {}, "newton-mr", {}, 20, 0, batch_size=5), big) == 5
