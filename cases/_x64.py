"""Enable float64 in JAX; imported by every ``cases`` module that uses JAX.

``import cases`` itself stays JAX-free (so the scorer, store and report can use
:mod:`cases._core` without loading JAX); each module that builds JAX arrays
imports this first, before any array exists.
"""

import jax

jax.config.update("jax_enable_x64", True)
