"""Minimum-residual damped Newton (thesis Algorithm 11).

One iteration at ``theta`` with ``g = grad L(theta)``, ``H = Hess L(theta)`` (HVPs only):

1. for every ``gamma`` in the finite set ``Gamma`` (option ``gammas``; Alg. 11
   lines 6-11): ``p_gamma`` = the minimum-length minimizer of
   ``||g + (H + gamma I) p||`` over the Krylov space ``K_K(H + gamma I, g)``,
   computed by MINRES-QLP with ``shift = -gamma`` and ``maxit = K`` (option
   ``krylov_iters``; :func:`harness.solvers.minres_qlp.minres_qlp` solves
   ``(A - shift I) x = b``).  The candidates are computed with ``vmap`` over
   ``Gamma``, each with *its own* damping (a public reference implementation
   bound every candidate to the same ``gamma`` through a late-binding closure,
   and added a scalar instead of ``gamma v``: it never damped as documented);
2. ``p* = argmin_gamma ||grad L(theta + p_gamma)||^2`` (line 12; one gradient per
   candidate; ties go to the earlier ``gamma``; non-finite merits lose);
3. ``theta <- theta + alpha p*`` (line 13; ``alpha`` = option ``step_size``, 1 in
   Algorithm 11).  What happens when no candidate improves the merit is option
   ``rule``:

   * ``rule = "move"`` (default; Algorithm 11 as printed, the *critbench variant*
     of the reproduction pages): the best candidate is taken even if it
     increases ``||grad L||^2``;
   * ``rule = "stop"`` (the thesis's public reference code, and what its remark
     that many damped-Newton runs "terminate in a small number of iterations"
     (Sec. 3.2.3.3) requires): if ``min_gamma ||grad L(theta + alpha p_gamma)||^2
     >= ||grad L(theta)||^2``, ``theta`` is kept and the run ends (the shared
     loop stops an unchanged iterate with status ``STALLED``).

Option ``public_code = True`` (a *probe* of the reproduction pages, off by default) reproduces
three behaviours of the thesis's public reference implementation (autocrit's ``FastNewtonTR``,
with ``NewtonTR.select_update``) that Algorithm 11 does not describe:

* **one gamma for every candidate**: the damped operators are built by lambdas in list
  comprehensions, which bind late, so every candidate uses the *last* entry of ``Gamma``
  (``gammas[-1]``); the ``|Gamma|`` MINRES-QLP solves are all computed (and counted), and coincide;
* **a scalar instead of** ``gamma v``: the damped product is ``H v + gamma * sum(theta)`` (the
  scalar ``gamma * sum_i theta_i``, at the current point, added to every component), not
  ``H v + gamma v``; MINRES-QLP runs on that affine map with ``shift = 0``;
* **the last improving candidate**: the candidates are scanned in order and each one whose merit
  is below ``||grad L(theta)||^2`` (the merit at ``theta``, never updated) replaces the previous
  choice, so the *last* improving candidate is kept, not the best; when none improves, ``rule``
  applies (the public code keeps ``theta`` and ends the run: ``rule = "stop"``).

The public code calls its MINRES-QLP with only ``rtol`` and ``maxit``, so its limits are that
routine's defaults (``maxxnorm = 1e7``, ``acondlim = 1e15``, ``trancond = 1e7``), not the thesis's
MR-QLP settings; :data:`PUBLIC_CODE_OPTIONS` collects the whole configuration.
Checked once against autocrit itself (its snapshot at commit a43a44b, run with autograd
outside critbench; not part of the test suite, which does not depend on autograd):
on the quartic (Eq. 3.35), 12 starts x 20 iterations with ``Gamma`` = the defaults or
(1, 0.5), the final points agree to 1e-14; on a 48-parameter linear autoencoder (K = 25
< 48), single steps from 40 points agree to 3e-9 (relative), and over 30 iterations 6
of 8 runs agree to 3e-8 with the same number of moves while 2 drift apart (to 1e-2)
as rounding differences of the two MINRES-QLP codes grow.

Flatness statistics (thesis Eqs. 3.36-3.37) are those of the *undamped* Newton
system ``H p = -g`` at ``theta`` for the chosen step ``p = p*``::

    r   = ||H p + g|| / (||H||_F ||p|| + ||g||)
    r_H = ||H (H p + g)|| / (||H||_F ||H p + g||)      (0 when H p + g = 0)

computed with two extra HVPs (``H p`` and ``H (H p + g)``, counted).  ``||H||_F``
is the Lanczos estimate of the chosen candidate's MINRES-QLP run,
``Tfro = ||(H + gamma* I) V_k||_F`` (``hfro_method = "lanczos"``): the Krylov
basis ``V_k`` is shift-invariant, and ``| ||H V_k||_F - Tfro | <= gamma* sqrt(k)``,
so for the small damping values used it is the undamped Lanczos lower bound on
``||H||_F`` to within ``gamma* sqrt(k)``.

Cost per iteration: ``sum_gamma matvecs_gamma`` HVPs (at most ``|Gamma| K``;
the Krylov spaces of all shifts coincide, so a shared-Lanczos implementation
could do with ``K``, but each run here is an independent MINRES-QLP) + 2 HVPs
for the statistics; ``|Gamma|`` gradients for the candidates (+ the loop's
gradient at the new iterate).  ``krylov_iters`` and ``krylov_flag`` in the
trace are those of the chosen candidate.

Defaults: the thesis gives no values for ``Gamma`` or ``K``.  ``gammas =
(1e-1, ..., 1e-6)``, ``krylov_iters = 25`` and ``rtol = 1e-10`` are those of the
thesis's public reference implementation (``DEFAULT_GAMMAS``, ``DEFAULT_MAXIT``,
``DEFAULT_RTOL``); ``maxxnorm = 1e4``, ``acondlim = 1e7``, ``trancond = 1e4`` are
the thesis's MR-QLP settings (Sec. 2.6.2.1).  Note ``Gamma`` must be a tuple of
non-negative numbers (the thesis's ``Gamma in P_omega(R_{>=0})``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ._iterative import IterativeSolver
from ._oracles import hvp
from ._protocol import SolverOptionError, StepInfo, check_open_unit, check_positive
from .minres_qlp import MinresQLPResult, check_minres_options, minres_qlp

jax.config.update("jax_enable_x64", True)


#: Values of the ``rule`` option (see the module docstring).
RULES = ("move", "stop")
#: The options that reproduce the thesis's public reference code (autocrit's ``FastNewtonTR``): its
#: three behaviours (``public_code``), its stop rule, and its MINRES-QLP's default limits.
PUBLIC_CODE_OPTIONS: dict[str, Any] = {"public_code": True, "rule": "stop", "maxxnorm": 1e7, "acondlim": 1e15,
                                       "trancond": 1e7}


class DampedCandidates(NamedTuple):
    """All candidates of one damped Newton iteration (leading axis: ``gammas``).

    Attributes:
        steps: ``p_gamma``, shape ``(len(gammas), dim)``.
        merits: ``||grad L(theta + p_gamma)||^2`` (``inf`` where non-finite).
        best: index of the chosen ``gamma``.
        solves: the batched MINRES-QLP results.
    """

    steps: jax.Array
    merits: jax.Array
    best: jax.Array
    solves: MinresQLPResult


@dataclasses.dataclass(frozen=True)
class DampedNewton(IterativeSolver):
    """Minimum-residual damped Newton, thesis Algorithm 11.

    Options:
        gammas: the damping set ``Gamma``, a non-empty tuple of finite numbers ``>= 0``.
        krylov_iters: Krylov space dimension ``K`` (MINRES-QLP ``maxit``), ``>= 1``.
        rtol: MINRES-QLP relative residual tolerance in ``(0, 1)``.
        maxxnorm, acondlim, trancond: MINRES-QLP limits (see ``minres_qlp``).
        rule: ``"move"`` (take the best candidate always) or ``"stop"`` (keep ``theta`` and end the run
            when no ``gamma`` improves ``||grad L||^2``: the thesis's public code).
        step_size: ``alpha`` in ``theta + alpha p*``, in ``(0, 1]`` (Algorithm 11: 1).
        public_code: reproduce the public reference code's three behaviours (module docstring):
            every candidate damped by ``gammas[-1]``, as ``H v + gamma sum(theta)``, and the last
            improving candidate kept.  Default ``False`` (Algorithm 11 as printed).
    """

    name: ClassVar[str] = "damped-newton"
    hfro_method: ClassVar[str] = "lanczos"

    def hvps_per_iteration(self, dim: int) -> int:
        """One Krylov solve of at most ``krylov_iters`` HVPs per ``gamma``, + 2 for the flatness statistics."""
        return len(self.gammas) * int(self.krylov_iters) + 2

    gammas: tuple[float, ...] = (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6)
    krylov_iters: int = 25
    rtol: float = 1e-10
    maxxnorm: float = 1e4
    acondlim: float = 1e7
    trancond: float = 1e4
    rule: str = "move"
    step_size: float = 1.0
    public_code: bool = dataclasses.field(default=False, metadata={"omit_at_default": True})

    def __post_init__(self) -> None:
        gs = self.gammas
        if isinstance(gs, (int, float, np.number)) and not isinstance(gs, bool):
            gs = (gs,)
            object.__setattr__(self, "gammas", gs)
        if isinstance(gs, list):  # accepted, stored as a (hashable) tuple
            gs = tuple(gs)
        if not isinstance(gs, tuple):
            raise SolverOptionError(f"option 'gammas' must be a tuple of numbers, got {gs!r}")
        if len(gs) == 0:
            raise SolverOptionError("option 'gammas' must be a non-empty tuple")
        for x in gs:
            if isinstance(x, bool) or not isinstance(x, (int, float, np.number)) or not np.isfinite(x) or x < 0:
                raise SolverOptionError(f"option 'gammas' must hold finite numbers >= 0, got {x!r}")
        object.__setattr__(self, "gammas", tuple(float(x) for x in gs))
        check_positive("krylov_iters", self.krylov_iters, integer=True)
        check_minres_options(self.rtol, self.maxxnorm, self.acondlim, self.trancond)
        if self.rule not in RULES:
            raise SolverOptionError(f"option 'rule' must be one of {', '.join(map(repr, RULES))}, got {self.rule!r}")
        check_open_unit("step_size", self.step_size, closed_right=True)
        if not isinstance(self.public_code, (bool, np.bool_)):
            raise SolverOptionError(f"option 'public_code' must be true or false, got {self.public_code!r}")

    def candidates(self, fn: Callable, theta: jax.Array, g: jax.Array, args: Any) -> DampedCandidates:
        """Algorithm 11 lines 5-12: one MINRES-QLP solve and one gradient (at ``theta + alpha p_gamma``) per
        ``gamma``; with ``public_code`` the public code's damping and choice instead (module docstring)."""
        mv = lambda v: hvp(fn, theta, v, args)  # noqa: E731
        gam = jnp.asarray(self.gammas, dtype=jnp.float64)
        if self.public_code:  # late binding: every candidate gets the last gamma
            gam = jnp.full_like(gam, self.gammas[-1])

        def solve(gamma: jax.Array) -> MinresQLPResult:
            if self.public_code:  # H v + gamma * sum(theta): a scalar on every component, shift 0
                return minres_qlp(lambda v: mv(v) + gamma * jnp.sum(theta), -g, shift=0.0, rtol=self.rtol,
                                  maxit=self.krylov_iters, maxxnorm=self.maxxnorm, acondlim=self.acondlim,
                                  trancond=self.trancond)
            # (H + gamma I) p = -g  <=>  (A - shift I) x = b with shift = -gamma.
            return minres_qlp(
                mv,
                -g,
                shift=-gamma,
                rtol=self.rtol,
                maxit=self.krylov_iters,
                maxxnorm=self.maxxnorm,
                acondlim=self.acondlim,
                trancond=self.trancond,
            )

        res = jax.vmap(solve)(gam)
        steps = res.x

        def merit(p: jax.Array) -> jax.Array:
            gn = jax.grad(fn)(theta + self.step_size * p, args)
            return jnp.vdot(gn, gn)

        merits = jax.vmap(merit)(steps)
        merits = jnp.where(jnp.isfinite(merits) & jnp.all(jnp.isfinite(steps), axis=1), merits, jnp.inf)
        best = jnp.argmin(merits)
        if self.public_code:  # the last candidate below the merit at theta (never updated), else the argmin
            idx = jnp.arange(merits.shape[0])
            last = jnp.max(jnp.where(merits < jnp.vdot(g, g), idx, -1))
            best = jnp.where(last >= 0, last, best)
        return DampedCandidates(steps=steps, merits=merits, best=best, solves=res)

    def step(
        self, fn: Callable, theta: jax.Array, f: jax.Array, g: jax.Array, state: Any, args: Any
    ) -> tuple[jax.Array, Any, StepInfo]:
        c = self.candidates(fn, theta, g, args)
        p = c.steps[c.best]
        chosen = jax.tree_util.tree_map(lambda a: a[c.best], c.solves)
        # Flatness statistics of the undamped system H p = -g (2 HVPs).
        mv = lambda v: hvp(fn, theta, v, args)  # noqa: E731
        resid = mv(p) + g
        rn = jnp.linalg.norm(resid)
        hfro = chosen.Tfro
        r = rn / (hfro * jnp.linalg.norm(p) + jnp.linalg.norm(g))
        r_H = jnp.where(rn > 0, jnp.linalg.norm(mv(resid)) / (hfro * jnp.where(rn > 0, rn, 1.0)), 0.0)
        info = StepInfo.make(
            step_size=self.step_size,
            r=r,
            r_H=r_H,
            hfro=hfro,
            krylov_iters=chosen.iters,
            krylov_flag=chosen.flag,
            hvps=jnp.sum(c.solves.matvecs) + 2,
            grads=len(self.gammas),
        )
        move = jnp.asarray(True)
        if self.rule == "stop":  # no gamma improves ||grad L||^2: keep theta (the loop then ends the run)
            move = c.merits[c.best] < jnp.vdot(g, g)
        return jnp.where(move, theta + self.step_size * p, theta), state, info._replace(
            step_size=jnp.where(move, jnp.float64(self.step_size), 0.0))
