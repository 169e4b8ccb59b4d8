"""The static critbench site (leaderboard, cases, solvers, runs, reproductions, asv history) and its preview server."""

from harness.site.build import build_site, reproduce_command, slug
from harness.site.serve import start_server

__all__ = ["build_site", "reproduce_command", "slug", "start_server"]
