"""critbench pytest plugin (entry point ``pytest11``): fixtures and options for
validating critical-point finders against certified ground truth."""

from __future__ import annotations
