"""Imports every built-in experiment module (each registers itself), in page order."""

from . import table31, cutoffs, sampling, swish_dlae, quartic, field, si_line, locus  # noqa: F401
