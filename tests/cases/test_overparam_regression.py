"""The over-parameterized regression case (Cooper's locus of global minima)."""

from __future__ import annotations

import numpy as np
import pytest

import cases
from cases import get_case


def test_dimensions_data_and_loss() -> None:
    case = get_case("overparam-regression", widths=(3, 6, 1), n=8)
    assert case.dim == 3 * 6 + 6 + 6 + 1 == 31 and case.dim > case.params["n"]
    assert case.ground_truth is None and cases.case_spec("overparam-regression").ground_truth_kind == "none"
    theta = case.initial_points(0, 4)
    assert theta.shape == (4, 31) and np.all(theta[:, 18:24] == 0)  # hidden biases start at zero
    # zero output weights and output bias = mean(y): the loss is the variance of y (independent formula)
    th = np.zeros(31)
    y = np.asarray(case.data.y)
    th[-1] = y.mean()
    assert float(case.loss(th)) == pytest.approx(float(np.mean((y - y.mean()) ** 2)), rel=1e-12)


@pytest.mark.parametrize("params", [{"n": 31}, {"widths": (3, 6, 2)}, {"activation": "relu"}, {"seed": -1}])
def test_bad_parameters_are_rejected(params: dict) -> None:
    with pytest.raises(ValueError):
        get_case("overparam-regression", **params)
