"""``critbench site OUT --serve``: serve a built site on 127.0.0.1 (like ``asv preview``)."""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

__all__ = ["start_server"]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the stdlib's signature
        pass


def start_server(root: str | Path, port: int = 0, host: str = "127.0.0.1") -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve ``root`` on ``host:port`` (0: any free port) in a daemon thread; returns ``(server, url)``.

    Stop it with ``server.shutdown(); server.server_close()``.
    """
    handler = functools.partial(_QuietHandler, directory=str(Path(root)))
    server = http.server.ThreadingHTTPServer((host, int(port)), handler)
    threading.Thread(target=server.serve_forever, daemon=True, name="critbench-site").start()
    return server, f"http://{host}:{server.server_address[1]}/index.html"
