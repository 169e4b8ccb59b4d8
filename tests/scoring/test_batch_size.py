"""The runner's default batch size: refilling solvers batch large CPU cases too; lockstep plugins
run them one at a time (vmap lockstep)."""

import cases
from harness.runner import CPU_LARGE_LANES, DEFAULT_BATCH, RunSpec, block_size, default_batch_size


def test_thesis_dlae_refills_in_lanes_on_cpu_and_plugins_run_one_at_a_time():
    case = cases.get_case("dlae")  # X is 16 x 10000: compute bound on a CPU
    spec = RunSpec("dlae", {}, "newton-mr", {}, 100, 0)
    assert default_batch_size(spec, case) == CPU_LARGE_LANES
    assert block_size(spec, CPU_LARGE_LANES, True) == 100  # one queue of 100 runs drained by the lanes


def test_small_case_is_batched_and_explicit_batch_size_wins():
    case = cases.get_case("quartic")
    assert default_batch_size(RunSpec("quartic", {}, "newton-mr", {}, 20, 0), case) == min(20, DEFAULT_BATCH)
    assert default_batch_size(RunSpec("quartic", {}, "newton-mr", {}, 20, 0, batch_size=3), case) == 3
    big = cases.get_case("dlae")
    assert default_batch_size(RunSpec("dlae", {}, "newton-mr", {}, 20, 0, batch_size=5), big) == 5
