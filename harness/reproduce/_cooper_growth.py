r"""Cooper (seed 002) Props. 5.13, 6.1 and 6.2: how the critical loci and the Hessian's zero eigenspaces grow
with the width of a net wider than its data set, measured on a family of small nets.

The family: ``degenerate-mlp`` nets ``(2, m, m, m, 1)`` (three tanh hidden layers of width ``m``, one output,
``L = mean((f - y)²)``) on ``n`` fixed data points, for several ``m > n``.  The seed's formulas are stripped, so
each row quotes the words the seed prints and measures, per width:

* *global minima* (Prop. 6.1/6.2): random lower layers, the output layer solved by least squares so that
  ``f(x_j) = y_j`` exactly (``Φ̃ = [h_H(x_j); 1]`` has rank ``n <= m + 1``).  The locus of global minima is the
  zero set of ``θ ↦ f(X; θ) - Y``, so its dimension at such a point is ``d - rank J`` (``J`` the ``n d_out × d``
  Jacobian of the outputs, rank by SVD); the Hessian there is ``(2/N) JᵀJ``, its nonzero eigenvalues counted
  (``|λ| > ZERO_TOL``);
* *star and core loci* (Prop. 6.1): the affine span of random points of each component
  (:func:`cases.degenerate_mlp.star_locus_point`, re-derived from the seed's proofs; the core: one more zero
  hidden layer), each checked critical (``||∇L||² < 1e-10``); a locus's dimension is the largest over its
  components, its codimension ``d`` minus that;
* *zero eigenvalues* (Prop. 6.2): the nonzero count at core points, and the nullity at star points of ``V_1``
  (saddles) against the lower bound ``d_out (m + 1 - n)`` (Cor. 5.18);
* *no isolated local minima* (Prop. 5.13): BFGS from random starts; at each end point that is a local minimum
  (``||∇L||² < 1e-10``, no eigenvalue below ``-ZERO_TOL``), a step ``t`` along a unit vector ``u`` of the
  level set's linear space (output-layer directions ``δ`` with ``Φ̃ δ = 0``: the outputs on the data, so the
  loss, do not change), then BFGS again from ``θ + t u``: the minimum is *not isolated* when the loss did not
  change (``|ΔL| <= 1e-12``) and the second run ends at another local minimum of the same loss at distance
  between ``t/2`` and ``2t`` from the first.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _page as P

#: Hidden widths m of the family per mode (every one above N_DATA).
WIDTHS = {"quick": (5, 6, 7), "full": (5, 6, 7, 8)}
N_DATA = 4
#: An eigenvalue with |λ| <= ZERO_TOL counts as zero (the pages' threshold).
ZERO_TOL = 1e-5
CRITICAL = 1e-10
#: Points per width: global minima, core points, star points, BFGS starts.
POINTS = {"quick": 2, "full": 3}
#: Random points per component for the affine span of a locus (more than any component's dimension).
SPAN_POINTS = 200
STEP = 1e-2


def _net(m: int) -> tuple[int, ...]:
    return (2, m, m, m, 1)


def _random_theta(widths: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    from cases.degenerate_mlp import n_params, param_slices

    theta = np.zeros(n_params(widths))
    for ws, (r, c), bs in param_slices(widths):
        theta[ws] = rng.normal(0.0, 1.0 / np.sqrt(c), size=r * c)
        theta[bs] = rng.normal(0.0, 1.0, size=r)
    return theta


def _phi(theta: np.ndarray, x: np.ndarray, widths: tuple[int, ...]) -> np.ndarray:
    """``Φ̃ = [h_H(x_j); 1]`` (n × (n_H + 1)), the last hidden layer's outputs with a ones column (tanh)."""
    from cases.degenerate_mlp import unflatten_params

    p = unflatten_params(theta, widths)
    h = np.asarray(x, dtype=float)
    for layer in range(1, len(widths) - 1):
        h = np.tanh(h @ p[f"W{layer}"].T + p[f"b{layer}"])
    return np.concatenate([h, np.ones((h.shape[0], 1))], axis=1)


def global_minimum(theta: np.ndarray, x: np.ndarray, y: np.ndarray, widths: tuple[int, ...]) -> np.ndarray:
    """``theta`` with its output layer ``(W_{H+1}, b_{H+1})`` replaced by the least-squares (exact, when
    ``rank Φ̃ = n``) fit of ``y`` on ``Φ̃``: a zero-loss point."""
    from cases.degenerate_mlp import param_slices

    ws, (r, c), bs = param_slices(widths)[-1]
    sol = np.linalg.lstsq(_phi(theta, x, widths), np.asarray(y, dtype=float), rcond=None)[0]  # (c + 1) × r
    out = theta.copy()
    out[ws] = sol[:c].T.ravel()
    out[bs] = sol[c]
    return out


def level_directions(theta: np.ndarray, x: np.ndarray, widths: tuple[int, ...]) -> np.ndarray:
    """Unit vectors (rows) of the level set's linear space through ``theta`` (Cooper Thm. 5.15): output-layer
    directions ``δ`` with ``Φ̃ δ = 0`` (scalar output)."""
    from cases.degenerate_mlp import n_params, param_slices

    ws, (r, c), bs = param_slices(widths)[-1]
    if r != 1:
        raise ValueError("level_directions: scalar output only")
    _, s, vt = np.linalg.svd(_phi(theta, x, widths))
    rank = int(np.sum(s > s[0] * 1e-10))
    out = np.zeros((vt.shape[0] - rank, n_params(widths)))
    out[:, ws] = vt[rank:, :c]
    out[:, bs] = vt[rank:, c:]
    return out


def span_dim(points: np.ndarray) -> int:
    """The dimension of the affine span of the rows of ``points`` (SVD rank of the differences)."""
    return int(np.linalg.matrix_rank(points[1:] - points[0]))


def _counts(lam: np.ndarray) -> tuple[int, int, int]:
    from cases._numeric import inertia

    return inertia(lam, ZERO_TOL)


def growth_numbers(mode: str = "full", seed: int = 0) -> dict[str, Any]:
    """The measurements of the module docstring, per hidden width ``m`` of :data:`WIDTHS` ``[mode]``."""
    import jax
    import jax.numpy as jnp
    import scipy.optimize as so

    from cases import get_case
    from cases.degenerate_mlp import forward, loss_fn, star_locus_point

    rng = np.random.default_rng(seed)
    k = POINTS[mode]
    out: dict[str, Any] = {"n": N_DATA, "d_out": 1, "zero_tol": ZERO_TOL, "step": STEP, "widths": {}}
    for m in WIDTHS[mode]:
        widths = _net(m)
        case = get_case("degenerate-mlp", widths=widths, n_zero=3, activation="tanh", n=N_DATA)
        data, d = case.data, case.dim
        x, y = np.asarray(data.x), np.asarray(data.y)
        vg = jax.jit(jax.value_and_grad(loss_fn))
        hess = jax.jit(jax.hessian(loss_fn))
        jac = jax.jit(jax.jacfwd(lambda t: forward(t, data).ravel()))
        grad2 = jax.jit(jax.vmap(lambda t: jnp.sum(jax.grad(loss_fn)(t, data) ** 2)))

        def spec(t: np.ndarray) -> np.ndarray:
            return np.linalg.eigvalsh(np.asarray(hess(jnp.asarray(t), data)))

        rec: dict[str, Any] = {"d": d}
        # global minima: locus dimension d - rank J and the nonzero eigenvalues
        g_codim, g_nonzero, g_loss = [], [], []
        for _ in range(k):
            t = global_minimum(_random_theta(widths, rng), x, y, widths)
            g_loss.append(float(vg(jnp.asarray(t), data)[0]))
            g_codim.append(int(np.linalg.matrix_rank(np.asarray(jac(jnp.asarray(t))))))
            g_nonzero.append(int(np.sum(np.abs(spec(t)) > ZERO_TOL)))
        rec.update({"global_codim": g_codim, "global_nonzero": g_nonzero, "global_max_loss": max(g_loss)})
        # star and core loci: affine spans of random critical points of each component
        star_dims, core_dims, crit_ok, n_pts = {}, {}, True, 0
        for i in range(1, len(widths) - 1):
            pts = np.array([star_locus_point(widths, i, y, rng) for _ in range(SPAN_POINTS)])
            crit_ok &= bool(np.all(np.asarray(grad2(jnp.asarray(pts))) < CRITICAL))
            n_pts += len(pts)
            star_dims[i] = span_dim(pts)
            for z in range(1, i):
                pts = np.array([star_locus_point(widths, i, y, rng, zero_layers=(z,)) for _ in range(SPAN_POINTS)])
                crit_ok &= bool(np.all(np.asarray(grad2(jnp.asarray(pts))) < CRITICAL))
                n_pts += len(pts)
                core_dims[f"{i},{z}"] = span_dim(pts)
        rec.update({"star_codim": d - max(star_dims.values()), "core_codim": d - max(core_dims.values()),
                    "span_points_critical": crit_ok, "span_points": n_pts})
        # zero eigenvalues at core points and at star points of V_1
        rec["core_nonzero"] = [int(np.sum(np.abs(spec(star_locus_point(widths, 2, y, rng, zero_layers=(1,))))
                                          > ZERO_TOL)) for _ in range(k)]
        rec["star_nullity"] = [_counts(spec(star_locus_point(widths, 1, y, rng)))[1] for _ in range(k)]
        rec["nullity_bound"] = 1 * (m + 1 - N_DATA)

        # Prop. 5.13: local minima found by BFGS, and another local minimum next to each
        def fun(t: np.ndarray) -> tuple[float, np.ndarray]:
            v, g = vg(jnp.asarray(t), data)
            return float(v), np.asarray(g, dtype=float)

        def minimise(t0: np.ndarray) -> np.ndarray:
            return so.minimize(fun, t0, jac=True, method="BFGS", options={"gtol": 1e-13, "maxiter": 5000}).x

        def is_min(t: np.ndarray) -> bool:
            _, g = fun(t)
            return float(g @ g) < CRITICAL and _counts(spec(t))[0] == 0

        mins, nonisolated, nonglobal = 0, 0, 0
        for _ in range(k):
            t = minimise(_random_theta(widths, rng) * 0.5)
            if not is_min(t):
                continue
            mins += 1
            lt = fun(t)[0]
            nonglobal += lt > 1e-12
            u = level_directions(t, x, widths)
            if len(u) == 0:
                continue
            t1 = t + STEP * u[int(rng.integers(len(u)))]
            t2 = minimise(t1)
            nonisolated += bool(abs(fun(t1)[0] - lt) <= 1e-12 and abs(fun(t2)[0] - lt) <= 1e-12 and is_min(t2)
                                and STEP / 2 <= np.linalg.norm(t2 - t) <= 2 * STEP)
        rec.update({"local_minima": mins, "local_minima_nonglobal": nonglobal, "nonisolated": nonisolated})
        out["widths"][str(m)] = rec
    return out


def growth_rows(g: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Comparison rows of :func:`growth_numbers`' ``g``; the published cells quote the seed's words (its formulas
    are stripped)."""
    ms = [int(m) for m in g["widths"]]
    w = [g["widths"][str(m)] for m in ms]
    n, d_out = g["n"], g["d_out"]
    ds = [r["d"] for r in w]
    by_m = lambda vals: ", ".join(f"{v}" for v in vals)  # noqa: E731
    head = f"m = {by_m(ms)} (d = {by_m(ds)}), n = {n}"
    mins = sum(r["local_minima"] for r in w)
    noniso = sum(r["nonisolated"] for r in w)
    nonglob = sum(r["local_minima_nonglobal"] for r in w)
    gcod = [r["global_codim"] for r in w]
    gnz = [r["global_nonzero"] for r in w]
    scod = [r["star_codim"] for r in w]
    ccod = [r["core_codim"] for r in w]
    second = lambda v: [v[i + 2] - 2 * v[i + 1] + v[i] for i in range(len(v) - 2)]  # noqa: E731
    # growth faster than linear: positive second differences, which take at least three widths
    quadratic = lambda v: len(v) >= 3 and all(s > 0 for s in second(v))  # noqa: E731
    crit = all(r["span_points_critical"] for r in w)
    cnz = [r["core_nonzero"] for r in w]
    snull = [min(r["star_nullity"]) for r in w]
    bound = [r["nullity_bound"] for r in w]
    gdim = [d - max(c) for d, c in zip(ds, gcod)]
    sdim = [d - c for d, c in zip(ds, scod)]
    order = all(a > b > c for a, b, c in zip(gdim, sdim, bound))
    return [
        ("Prop. 5.13, nets wider than the data: local minima found by BFGS with another local minimum of the same "
         f"loss within {2 * g['step']:g} ({head})", f"{noniso}/{mins} ({nonglob} not global)",
         "no isolated local minima ('width larger than the number of training samples')", "",
         "a step along the level set's linear space (Φ̃ δ = 0), then BFGS again"
         + ("; every minimum found is global (Sec. 5's statement is about non-global ones: none found to test)"
            if nonglob == 0 else ""), P.verdict(mins > 0 and noniso == mins)),
        (f"Prop. 6.1: codimension of the locus of global minima, d - dim = rank J, per width ({head})",
         by_m(gcod), "'the codimension of the locus of global minima is constant'", "", f"n d_out = {n * d_out}",
         P.verdict(all(c == n * d_out for cs in gcod for c in cs))),
        (f"Prop. 6.1: codimension of the star locus (d - largest component's span of critical points) ({head})",
         f"{by_m(scod)}; second differences {by_m(second(scod))}",
         "'the codimension of the star locus grows quadratically in m'", "",
         "star locus V_i re-derived from the seed's proofs (its formulas are stripped): V_1 fixes only W_1, the "
         f"hidden biases and the output layer, linear in m; points critical: {'all' if crit else 'NOT all'}",
         P.verdict(crit and quadratic(scod))),
        (f"Prop. 6.1: codimension of the core locus (one more zero hidden layer) ({head})",
         f"{by_m(ccod)}; second differences {by_m(second(ccod))}", "'same thing with the core locus' (quadratic)",
         "", "", P.verdict(crit and quadratic(ccod))),
        (f"Prop. 6.1: dimensions ordered global minima > star locus > d_out (m + 1 - n) ({head})",
         f"{by_m(gdim)} > {by_m(sdim)} > {by_m(bound)}",
         "'the locus of global minima grows most quickly, followed by the star locus, followed by the linear "
         "spaces'", "", "", P.verdict(order)),
        (f"Prop. 6.2: nonzero Hessian eigenvalues (|λ| > {g['zero_tol']:g}) at core points, per width ({head})",
         by_m(cnz), "'always exactly 1' (per output)", "", "",
         P.verdict(all(c == d_out for cs in cnz for c in cs))),
        (f"Prop. 6.2: nonzero Hessian eigenvalues at global minima, per width ({head})", by_m(gnz),
         "'stays constant' (n d_out)", "", f"n d_out = {n * d_out}",
         P.verdict(all(c == n * d_out for cs in gnz for c in cs))),
        (f"Prop. 6.2: zero eigenvalues at critical points (star points of V_1, saddles) >= d_out (m + 1 - n), "
         f"linear in m ({head})", f"smallest nullity {by_m(snull)} vs bound {by_m(bound)}",
         "'at least …, which grows linearly in m' (Cor. 5.18's bound d_out (n_H + 1 - n))", "", "",
         P.verdict(all(s >= b for s, b in zip(snull, bound)))),
    ]
