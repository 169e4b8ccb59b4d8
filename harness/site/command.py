"""``critbench site OUT [--results DIR ...] [--runs-pages] [--serve [--port N]]``: build the static site, then
optionally serve it.

The board is :func:`harness.leaderboard.rank.leaderboard_of` (the new result sets beside the reference
archive, or the archive alone); the pages are :func:`harness.site.build.build_site`; the preview server
is :func:`harness.site.serve.start_server`.  :mod:`harness.cli` declares the arguments and calls
:func:`site_command`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from harness.run.command import EXIT_OK, check_out_dir

__all__ = ["site_command"]


def site_command(
    out: str | Path,
    *,
    results: Sequence[str | Path] = (),
    suite: str | None = None,
    archive: str | Path | None = None,
    alpha: float = 0.05,
    allow_mixed: bool = False,
    runs_pages: bool = False,
    docs_results: str | Path = "docs/results",
    asv_html: str | Path = ".asv/html",
    serve: bool = False,
    port: int = 0,
) -> int:
    """Write the site into ``out`` (one summary line), then serve it on 127.0.0.1 until Ctrl-C if ``serve``.

    Raises:
        CLIError: ``out`` is an existing file.
        LeaderboardError, SuiteError, ArchiveError, StoreError: bad result sets or archive (one-line messages).
    """
    from harness.leaderboard.rank import leaderboard_of
    from harness.site.build import build_site
    from harness.site.serve import start_server

    check_out_dir(out, "site directory")
    lb = leaderboard_of(list(results), archive=archive, suite=suite, alpha=alpha, allow_mixed=allow_mixed)
    t0 = time.perf_counter()
    info = build_site(out, lb, runs_pages=runs_pages, docs_results=docs_results, asv_html=asv_html)
    print(f"site: {info['pages']} pages ({info['cases']} cases, {info['solvers']} solvers, {info['run_pages']} run "
          f"pages, {info['reproductions']} reproductions, asv {'included' if info['asv'] else 'not built'}) in "
          f"{time.perf_counter() - t0:.1f} s: {Path(out) / 'index.html'}")
    if serve:
        server, url = start_server(out, port)
        print(f"serving {out} at {url} (Ctrl-C to stop)", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            server.shutdown()
            server.server_close()
    return EXIT_OK
