"""The asv history pages render in a real (headless) browser with plotted points.

A two-commit toy repository is benchmarked with :func:`harness.perf.history.build_history`
(the same code as ``critbench history`` and ``ci/asv_history.py``), published,
served on 127.0.0.1 and loaded in headless Chromium: the benchmark list must
appear, a graph page must draw its flot canvas from a graph JSON with real
points, and the screenshot (``results/asv/screenshot.png``) must not be blank.
CI installs Chromium and the JavaScript libraries (``docs/asv.md``); without a
browser binary, or without the JavaScript libraries the pages need offline
(:data:`harness.perf.history.VENDOR`), the test is skipped with a message.
"""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import subprocess
import sys
import textwrap
import threading
import urllib.parse
from pathlib import Path

import pytest

from tests._browser import find_browser

from harness.perf import history

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
                   check=True, capture_output=True)


def _toy_repo(path: Path) -> Path:
    """Two commits of a package whose tracked value changes (1 -> 3)."""
    (path / "benchmarks").mkdir(parents=True)
    shutil.copyfile(ROOT / "asv.conf.json", path / "asv.conf.json")
    (path / "benchmarks" / "__init__.py").write_text("")
    (path / "benchmarks" / "bench_toy.py").write_text(textwrap.dedent('''
        def time_sum():
            sum(range(1000))

        def track_value():
            import toypkg  # from the benchmarked commit (ASV_PYTHONPATH), installed nowhere
            return toypkg.VALUE

        track_value.unit = "units"
    '''))
    (path / "toypkg").mkdir()
    (path / "toypkg" / "__init__.py").write_text("VALUE = 1\n")
    _git(path, "init", "-q")
    _git(path, "add", "-A")
    _git(path, "commit", "-qm", "first")
    (path / "toypkg" / "__init__.py").write_text("VALUE = 3\n")
    _git(path, "commit", "-qam", "second")
    return path


class _Recorder(http.server.SimpleHTTPRequestHandler):
    requested: list[str] = []

    def log_message(self, format, *args):  # noqa: A002
        pass

    def do_GET(self):  # noqa: N802
        type(self).requested.append(self.path)
        super().do_GET()


def _chromium(browser: str, tmp: Path, *args: str) -> str:
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--no-first-run", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
           f"--user-data-dir={tmp / 'chrome-profile'}", "--virtual-time-budget=10000", *args]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def _missing_javascript() -> list[str]:
    """The asv pages' JavaScript/CSS files with no local copy (``$CRITBENCH_ASV_VENDOR`` or the Debian paths)."""
    import os

    extra = os.environ.get("CRITBENCH_ASV_VENDOR")
    missing = []
    for name, candidates in history.VENDOR.items():
        if candidates is None:  # a stub is enough
            continue
        paths = ([Path(extra) / name] if extra else []) + [Path(c) for c in candidates]
        if not any(p.is_file() for p in paths):
            missing.append(name)
    return missing


def test_history_renders_in_headless_chromium(tmp_path: Path) -> None:
    browser = find_browser()
    if browser is None:
        pytest.skip("no Chromium binary (apt-get install -y chromium); see docs/asv.md")
    missing = _missing_javascript()
    if missing:
        pytest.skip(f"asv's JavaScript is not installed ({', '.join(missing)}); see docs/asv.md")
    repo = _toy_repo(tmp_path / "toy")
    html = history.build_history(2, tmp_path / "asv", repo=repo, python=sys.executable, quick=True,
                                 log=lambda *a, **k: None)

    # real points: both commits measured, and each saw its own toypkg
    results = [json.loads(p.read_text()) for p in (tmp_path / "asv" / "results").rglob("*.json")
               if p.name not in ("machine.json", "benchmarks.json")]
    values = sorted(r["results"]["bench_toy.track_value"][0][0] for r in results)
    assert values == [1.0, 3.0]

    handler = functools.partial(_Recorder, directory=str(html))
    _Recorder.requested = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        index = _chromium(browser, tmp_path, "--dump-dom", url + "index.html")
        assert "failed to load" not in index, "asv's JavaScript did not load (offline? see docs/asv.md)"
        assert "bench_toy.time_sum" in index and "bench_toy.track_value" in index

        _Recorder.requested = []
        graph = _chromium(browser, tmp_path, "--dump-dom", url + "index.html#bench_toy.track_value")
        assert 'class="flot-base"' in graph and "flot-tick-label" in graph
        paths = [urllib.parse.unquote(p.split("?")[0]) for p in _Recorder.requested]
        graph_json = [p for p in paths if p.endswith("/bench_toy.track_value.json")]
        assert graph_json, f"graph data never requested: {paths}"
        data = json.loads((html / graph_json[0].lstrip("/")).read_text())
        points = [pt for pt in data if pt[1] is not None]
        assert len(points) >= 2, data

        shot = ROOT / "results" / "asv" / "screenshot.png"
        shot.parent.mkdir(parents=True, exist_ok=True)
        shot.unlink(missing_ok=True)
        _chromium(browser, tmp_path, f"--screenshot={shot}", "--window-size=1280,900",
                  url + "index.html#bench_toy.track_value")
    finally:
        server.shutdown()
    assert shot.exists() and shot.stat().st_size > 5000
    _assert_not_blank(shot)


def _assert_not_blank(png: Path) -> None:
    """Many colours, and saturated (series-coloured) pixels in the plot area."""
    Image = pytest.importorskip("PIL.Image")
    img = Image.open(png).convert("RGB")
    assert img.size == (1280, 900)
    colours = img.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 20, "screenshot is (nearly) one colour"
    plot = img.crop((300, 100, 1250, 750))
    import numpy as np

    px = np.asarray(plot, dtype=int)
    saturated = int(np.count_nonzero(px.max(axis=2) - px.min(axis=2) > 60))
    assert saturated > 50, "no coloured series drawn in the plot area"


def test_skips_when_the_javascript_is_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A browser but no JavaScript libraries: skipped with a message, not failed."""
    monkeypatch.setattr(sys.modules[__name__], "find_browser", lambda: "/nonexistent/chromium")
    monkeypatch.setitem(history.VENDOR, "jquery-3.3.1.min.js", [str(tmp_path / "no-jquery.js")])
    monkeypatch.delenv("CRITBENCH_ASV_VENDOR", raising=False)
    with pytest.raises(pytest.skip.Exception, match="JavaScript is not installed.*jquery-3.3.1.min.js"):
        test_history_renders_in_headless_chromium(tmp_path)
