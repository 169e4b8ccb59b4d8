"""Property: at known critical points of large DLAEs the closed form agrees with the
matrix-free estimates (issue 22).  Few examples: each draw is a new shape."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings

from harness import strategies as cs
from harness.scoring import matrix_free as MF


@settings(max_examples=3, deadline=None)
@given(cs.large_dlae_critical_points(min_k=100, max_k=160, max_p=3))
def test_closed_form_agrees_with_matrix_free(drawn):
    case, klass, theta = drawn
    fn, data = case.oracle_form
    grad = np.asarray(MF._hvp_fns(fn)[1](theta, data))
    assert float(grad @ grad) < 1e-20  # a critical point by construction
    assert case.ground_truth.match(theta) is klass  # class recovered from W2 W1 in the gauge
    rep = MF.verify_point(fn, data, theta, closed_index_count=klass.index_count, closed_nullity=klass.nullity,
                          flatness=False)
    assert rep.agrees is True, rep.findings
    assert rep.index_fraction.agrees and rep.nullity_fraction.agrees
    if rep.index_count is not None:
        assert (rep.index_count, rep.nullity) == (klass.index_count, klass.nullity)
