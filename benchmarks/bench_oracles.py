"""Cost of the two oracles every solver is built on: one gradient and one
Hessian-vector product (``harness.hvp``: forward-over-reverse), jit-compiled,
compilation excluded (warmed up in ``setup``)."""

from __future__ import annotations

from ._common import FIELD_CASE, THESIS_DLAE, case, need


class _Oracles:
    case_name = ""
    case_params: dict = {}
    warmup_time = 0.2
    repeat = (3, 10, 5.0)

    def setup(self) -> None:
        jax = need("jax")
        hvp = need("harness", "hvp")
        c = case(self.case_name, **self.case_params)
        fn, data = c.loss_fn, c.data
        self.theta = jax.numpy.asarray(c.initial_points(0, 1)[0])
        self.v = jax.numpy.ones_like(self.theta)
        self.data = data
        self.grad = jax.jit(jax.grad(fn))
        self.hvp = jax.jit(lambda t, v, d: hvp(fn, t, v, d))
        # compile outside the timed region
        self.grad(self.theta, data).block_until_ready()
        self.hvp(self.theta, self.v, data).block_until_ready()

    def _grad(self) -> None:
        self.grad(self.theta, self.data).block_until_ready()

    def _hvp(self) -> None:
        self.hvp(self.theta, self.v, self.data).block_until_ready()


class OraclesDLAE(_Oracles):
    """Thesis DLAE, k = 16, p = 4, n = 10000 (dim 128)."""

    case_name = "dlae"
    case_params = THESIS_DLAE

    def time_grad_dlae(self) -> None:
        self._grad()

    def time_hvp_dlae(self) -> None:
        self._hvp()


class OraclesField(_Oracles):
    """A small nonlinear field case (Swish MLP on downsampled digits)."""

    case_name, case_params = FIELD_CASE

    def time_grad_swish_mlp(self) -> None:
        self._grad()

    def time_hvp_swish_mlp(self) -> None:
        self._hvp()
