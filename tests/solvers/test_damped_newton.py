"""Damped Newton (thesis Algorithm 11): every gamma really used, best candidate kept.

Ground truth: numpy.linalg.solve of (H + gamma I) p = -g with the hand-written
Hessian of the quartic f(x, y) = x^4/4 - 3x^2 + 9x + 0.9y^4 + 5y^2 + 40 (Eq. 3.35);
in dimension 2 a Krylov space of order K >= 2 is the whole space, so the
minimum-residual step in K_K equals the exact solve.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from harness.solvers import CONVERGED, STALLED, SolverError, SolverOptionError, get_solver
from harness.solvers.damped_newton import DampedNewton
from tests.solvers._quartic import QUARTIC, quartic, quartic_grad, quartic_hess  # noqa: F401

jax.config.update("jax_enable_x64", True)


GAMMAS = (1e-6, 1.0, 10.0, 100.0)
THETA = np.array([-1.3, 1.0])  # H_xx = -0.93: the undamped step overshoots badly


def _numpy_candidates(t, gammas):
    H, g = quartic_hess(t), quartic_grad(t)
    steps = np.array([np.linalg.solve(H + gm * np.eye(2), -g) for gm in gammas])
    merits = np.array([quartic_grad(t + p) @ quartic_grad(t + p) for p in steps])
    return steps, merits


def test_every_gamma_is_used_and_the_best_candidate_is_chosen():
    steps_np, merits_np = _numpy_candidates(THETA, GAMMAS)
    best_np = int(np.argmin(merits_np))
    assert best_np == 2  # precondition: neither the first nor the last gamma wins
    # Distinct gammas give distinct candidates (a solver applying one damping to all would fail below).
    assert min(np.linalg.norm(steps_np[i] - steps_np[j]) for i in range(4) for j in range(i)) > 0.1

    solver = DampedNewton(gammas=GAMMAS, krylov_iters=2, rtol=1e-14)
    th = jnp.asarray(THETA)
    c = jax.jit(lambda t: solver.candidates(quartic, t, jax.grad(quartic)(t, ()), ()))(th)
    np.testing.assert_allclose(np.asarray(c.steps), steps_np, rtol=1e-8)
    np.testing.assert_allclose(np.asarray(c.merits), merits_np, rtol=1e-6)
    assert int(c.best) == best_np

    res = solver.solve(QUARTIC, THETA[None], max_iter=1, tol=0.0)
    np.testing.assert_allclose(res.theta[0], THETA + steps_np[best_np], rtol=1e-10)
    np.testing.assert_allclose(res.trace["grad_norm_sq"][0, 1], merits_np[best_np], rtol=1e-8)


def _chosen_step(gammas):
    solver = DampedNewton(gammas=gammas, krylov_iters=2, rtol=1e-14)
    c = jax.jit(lambda t: solver.candidates(quartic, t, jax.grad(quartic)(t, ()), ()))(jnp.asarray(THETA))
    return np.asarray(c.steps[c.best])


def test_choice_depends_on_gamma_values_not_their_order():
    steps_np, merits_np = _numpy_candidates(THETA, GAMMAS)
    np.testing.assert_allclose(_chosen_step((100.0, 10.0, 1.0, 1e-6)), steps_np[int(np.argmin(merits_np))], rtol=1e-8)
    # Without the winning gamma, the next-best one (gamma = 100) is chosen.
    np.testing.assert_allclose(_chosen_step((1e-6, 1.0, 100.0)), steps_np[3], rtol=1e-8)


def test_flatness_statistics_are_for_the_undamped_system_and_costs_counted():
    solver = DampedNewton(gammas=GAMMAS, krylov_iters=2, rtol=1e-14)
    res = solver.solve(QUARTIC, THETA[None], max_iter=1, tol=0.0)
    steps_np, _ = _numpy_candidates(THETA, GAMMAS)
    p = steps_np[2]
    H, g = quartic_hess(THETA), quartic_grad(THETA)
    # Full Krylov space: the Lanczos estimate is ||H + gamma* I||_F exactly.
    hf = np.linalg.norm(H + 10.0 * np.eye(2))
    np.testing.assert_allclose(res.trace["hfro"][0, 1], hf, rtol=1e-10)
    resid = H @ p + g  # undamped residual = -gamma* p, clearly nonzero
    r = np.linalg.norm(resid) / (hf * np.linalg.norm(p) + np.linalg.norm(g))
    r_H = np.linalg.norm(H @ resid) / (hf * np.linalg.norm(resid))
    np.testing.assert_allclose(res.trace["r"][0, 1], r, rtol=1e-8)
    np.testing.assert_allclose(res.trace["r_H"][0, 1], r_H, rtol=1e-8)
    # Cost: per gamma <= K matvecs (at least 1), + 2 HVPs; one gradient per gamma + the loop's.
    assert 2 + len(GAMMAS) <= res.hvps[0] <= 2 + 2 * len(GAMMAS)
    assert res.grads[0] == 1 + len(GAMMAS) + 1
    assert res.hfro_method == "lanczos"


def test_converges_from_left_of_minus_sqrt2_to_the_minimum():
    x0 = np.array([[-1.6, 0.5], [-2.5, -1.0], [-5.0, 2.0], [-1.45, 0.0], [-3.5, 1.5]])
    res = DampedNewton().solve(QUARTIC, x0, max_iter=100, tol=1e-10)
    assert np.all(res.status == CONVERGED)
    np.testing.assert_allclose(res.theta, np.tile([-3.0, 0.0], (len(x0), 1)), atol=1e-5)
    assert np.all(res.trace["grad_norm_sq"][np.arange(len(x0)), res.n_iter] < 1e-10)
    for t in res.theta:
        assert np.linalg.norm(quartic_grad(t)) ** 2 < 1e-10


@pytest.mark.parametrize(
    "opts, name",
    [
        (dict(gammas=()), "gammas"),
        (dict(gammas=(1e-3, -1e-3)), "gammas"),
        (dict(gammas=(float("nan"),)), "gammas"),
        (dict(gammas="0.1"), "gammas"),
        (dict(krylov_iters=0), "krylov_iters"),
        (dict(krylov_iters=-3), "krylov_iters"),
        (dict(krylov_iters=2.0), "krylov_iters"),
        (dict(rtol=0.0), "rtol"),
        (dict(acondlim=0.5), "acondlim"),
    ],
)
def test_bad_options_raise(opts, name):
    with pytest.raises(SolverOptionError, match=name):
        DampedNewton(**opts)


def test_registry_coerces_and_rejects():
    s = get_solver("damped-newton", gammas=(0.1, 1e-3), krylov_iters=7)
    assert s.gammas == (0.1, 1e-3) and s.krylov_iters == 7
    hash(s)  # static jit argument
    assert DampedNewton(gammas=[1, 0.5]).gammas == (1.0, 0.5)
    with pytest.raises(SolverError, match="gammas"):
        get_solver("damped-newton", gammas=(-1.0,))


def test_stop_rule_keeps_theta_and_ends_the_run_when_no_gamma_improves():
    """Thesis public-code rule: at (-1.3, 1) no gamma in (1e-6, 1) lowers ||grad f||^2 (numpy: 398.2 ->
    8.5e6 and 8.6e13), so rule="stop" ends the run at iteration 1 at theta0; "move" takes the worse step."""
    gammas = (1e-6, 1.0)
    steps_np, merits_np = _numpy_candidates(THETA, gammas)
    g2 = quartic_grad(THETA) @ quartic_grad(THETA)
    assert merits_np.min() > g2  # precondition: no candidate improves
    stop = DampedNewton(gammas=gammas, krylov_iters=2, rtol=1e-14, rule="stop").solve(
        QUARTIC, THETA[None], max_iter=50, tol=1e-10)
    assert stop.status[0] == STALLED and stop.n_iter[0] == 1
    np.testing.assert_array_equal(stop.theta[0], THETA)
    move = DampedNewton(gammas=gammas, krylov_iters=2, rtol=1e-14, rule="move").solve(
        QUARTIC, THETA[None], max_iter=1, tol=1e-10)
    np.testing.assert_allclose(move.theta[0], THETA + steps_np[int(np.argmin(merits_np))], rtol=1e-8)


def test_stop_rule_still_moves_while_some_gamma_improves():
    """With gamma = 10 in the set a candidate improves (41.9 < 398.2), so "stop" moves like "move"."""
    steps_np, merits_np = _numpy_candidates(THETA, GAMMAS)
    assert merits_np.min() < quartic_grad(THETA) @ quartic_grad(THETA)
    res = DampedNewton(gammas=GAMMAS, krylov_iters=2, rtol=1e-14, rule="stop").solve(
        QUARTIC, THETA[None], max_iter=1, tol=0.0)
    np.testing.assert_allclose(res.theta[0], THETA + steps_np[int(np.argmin(merits_np))], rtol=1e-10)


def test_step_size_scales_the_chosen_step_and_its_merit():
    """theta + alpha p_gamma, the merit evaluated there (numpy with alpha = 0.5)."""
    alpha = 0.5
    H, g = quartic_hess(THETA), quartic_grad(THETA)
    steps = [np.linalg.solve(H + gm * np.eye(2), -g) for gm in GAMMAS]
    merits = [quartic_grad(THETA + alpha * p) @ quartic_grad(THETA + alpha * p) for p in steps]
    res = DampedNewton(gammas=GAMMAS, krylov_iters=2, rtol=1e-14, step_size=alpha).solve(
        QUARTIC, THETA[None], max_iter=1, tol=0.0)
    np.testing.assert_allclose(res.theta[0], THETA + alpha * steps[int(np.argmin(merits))], rtol=1e-10)
    np.testing.assert_allclose(res.trace["grad_norm_sq"][0, 1], min(merits), rtol=1e-8)


@pytest.mark.parametrize("opts, name", [(dict(rule="keep"), "rule"), (dict(step_size=0.0), "step_size"),
                                        (dict(step_size=1.5), "step_size")])
def test_bad_rule_and_step_size_raise(opts, name):
    with pytest.raises(SolverOptionError, match=name):
        DampedNewton(**opts)


# --- public_code: the thesis's public reference code (autocrit FastNewtonTR) -------------------------------


def _public_code_step(t, gammas, krylov_iters=2):
    """Reference of the public code's candidate at ``t``: MINRES-QLP (the routine tested in test_minres_qlp)
    on the affine map ``v -> H v + gammas[-1] * sum(t)`` with the hand-written Hessian, shift 0."""
    from harness.solvers.minres_qlp import minres_qlp

    H, g = jnp.asarray(quartic_hess(t)), jnp.asarray(quartic_grad(t))
    c = gammas[-1] * float(np.sum(t))
    res = minres_qlp(lambda v: H @ v + c, -g, shift=0.0, rtol=1e-14, maxit=krylov_iters)
    p = np.asarray(res.x)
    return p, float(quartic_grad(t + p) @ quartic_grad(t + p))


def _public_candidates(t, gammas):
    solver = DampedNewton(gammas=gammas, krylov_iters=2, rtol=1e-14, public_code=True)
    return jax.jit(lambda th: solver.candidates(quartic, th, jax.grad(quartic)(th, ()), ()))(jnp.asarray(t))


def test_public_code_damps_every_candidate_with_the_last_gamma_as_a_scalar():
    t = np.array([2.0, 0.5])  # sum(t) != 0, so the scalar matters
    gammas = (10.0, 1.0, 0.5)
    p_ref, merit_ref = _public_code_step(t, gammas)
    c = _public_candidates(t, gammas)
    steps = np.asarray(c.steps)
    # all |Gamma| candidates coincide (late binding) and are the scalar-damped solve with gammas[-1]
    np.testing.assert_allclose(steps, np.tile(p_ref, (3, 1)), rtol=1e-8)
    np.testing.assert_allclose(np.asarray(c.merits), merit_ref, rtol=1e-6)
    assert int(np.sum(np.asarray(c.solves.matvecs))) >= 3 * 2  # each of the |Gamma| solves is run and counted
    # only the last gamma matters: changing the others leaves the step, changing the last moves it
    np.testing.assert_allclose(np.asarray(_public_candidates(t, (99.0, 7.0, 0.5)).steps), steps, rtol=1e-12)
    assert np.linalg.norm(np.asarray(_public_candidates(t, (10.0, 1.0, 5.0)).steps)[0] - steps[0]) > 1e-3
    # ... and the candidates differ from Algorithm 11's (H + gamma I) p = -g for every gamma
    alg11 = np.array([np.linalg.solve(quartic_hess(t) + gm * np.eye(2), -quartic_grad(t)) for gm in gammas])
    assert np.min(np.linalg.norm(alg11 - p_ref, axis=1)) > 1e-3


def test_public_code_keeps_the_last_improving_candidate_not_the_best():
    """Candidates are identical under the public code's damping, so the choice rule is checked on merits
    directly: the selection is the last index whose merit is below ||g||^2 (the merit at theta)."""
    import harness.solvers.damped_newton as dn

    t = jnp.asarray(THETA)
    g = jax.grad(quartic)(t, ())
    g2 = float(g @ g)
    solver = DampedNewton(gammas=(1.0, 2.0, 3.0, 4.0), krylov_iters=2, public_code=True)
    fake_merits = jnp.asarray([0.1 * g2, 0.01 * g2, 0.5 * g2, 2.0 * g2])  # best is 1, last improving is 2
    orig = dn.jax.vmap

    def fake_vmap(f, *a, **k):
        if getattr(f, "__name__", "") == "merit":
            return lambda steps: fake_merits
        return orig(f, *a, **k)

    dn.jax.vmap = fake_vmap
    try:
        c = solver.candidates(quartic, t, g, ())
        assert int(c.best) == 2
        # Algorithm 11 as printed takes the best
        assert int(DampedNewton(gammas=(1.0, 2.0, 3.0, 4.0), krylov_iters=2).candidates(quartic, t, g, ()).best) == 1
        # none improving: the argmin (the stop rule then keeps theta)
        fake_merits = jnp.asarray([3.0 * g2, 2.0 * g2, 5.0 * g2, 4.0 * g2])
        assert int(solver.candidates(quartic, t, g, ()).best) == 1
    finally:
        dn.jax.vmap = orig


def test_public_code_options_run_and_stop_like_the_public_code():
    from harness.solvers.damped_newton import PUBLIC_CODE_OPTIONS

    solver = get_solver("damped-newton", **PUBLIC_CODE_OPTIONS, krylov_iters=2, rtol=1e-14)
    assert solver.public_code and solver.rule == "stop" and solver.acondlim == 1e15
    g0 = lambda t: quartic_grad(t) @ quartic_grad(t)  # noqa: E731
    moved = kept = 0
    for t in (np.array([2.0, 0.5]), np.array([-1.3, 1.0])):
        p_ref, merit_ref = _public_code_step(t, solver.gammas)
        res = solver.solve(QUARTIC, t[None], max_iter=1, tol=0.0)
        if merit_ref < g0(t):  # improving: the public code moves by its (single) candidate
            np.testing.assert_allclose(res.theta[0], t + p_ref, rtol=1e-8)
            moved += 1
        else:  # not improving: theta kept, the run ends
            np.testing.assert_allclose(res.theta[0], t)
            assert res.status[0] == STALLED
            kept += 1
    assert moved == 1 and kept == 1  # both branches exercised
    with pytest.raises(SolverOptionError, match="public_code"):
        DampedNewton(public_code="yes")


def test_public_code_option_keeps_the_stored_run_ids():
    """``public_code`` was added after damped-Newton runs were stored: at its default it is not in
    the options a record and its run id hold, so those runs keep their ids."""
    from harness.solvers import get_solver

    assert "public_code" not in get_solver("damped-newton").options()
    assert get_solver("damped-newton", public_code=True).options()["public_code"] is True
