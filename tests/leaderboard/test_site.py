"""The static site: every page and link resolves offline, it serves on 127.0.0.1, and renders in headless Chromium."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests._browser import find_browser

from harness.cli import main
from harness.leaderboard import rank as lbr
from harness.site import build_site, start_server
from tests.leaderboard._synth import pattern, records, write_set, write_toy_archive
from tests.leaderboard.test_rank import REF

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def site(tmp_path: Path) -> Path:
    archive = write_toy_archive(tmp_path / "toy-v1.parquet", REF)
    new = write_set(tmp_path / "new", records("bad", "quartic", pattern(2)) + records("bad", "xor", pattern(10)))
    docs = tmp_path / "docs-results" / "table-9.9"
    docs.mkdir(parents=True)
    (docs / "summary.md").write_text("# Table 9.9\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n![fig](fig-1.png)\n")
    shutil.copy(ROOT / "docs" / "results" / "table-3.1" / "fig-1.png", docs / "fig-1.png") \
        if (ROOT / "docs" / "results" / "table-3.1" / "fig-1.png").exists() else (docs / "fig-1.png").write_bytes(b"")
    out = tmp_path / "site"
    assert main(["site", str(out), "--results", str(new), "--archive", str(archive), "--runs-pages",
                 "--docs-results", str(tmp_path / "docs-results"), "--asv-html", str(tmp_path / "no-asv")]) == 0
    return out


def _local_links(page: Path) -> list[str]:
    text = page.read_text(encoding="utf-8")
    refs = re.findall(r'(?:href|src)="([^"]+)"', text)
    return [r for r in refs if not r.startswith(("data:", "#"))]


def test_site_pages_and_links_resolve_offline(site: Path) -> None:
    pages = sorted(site.rglob("*.html"))
    names = {p.relative_to(site).as_posix() for p in pages}
    assert {"index.html", "cases/quartic.html", "cases/xor.html", "solvers/bad.html", "solvers/ref-a.html",
            "reproduce/index.html", "reproduce/table-9.9/index.html", "asv.html"} <= names
    assert sum(n.startswith("runs/bad/") for n in names) == 40  # --runs-pages: every run of the new method
    for page in pages:
        for ref in _local_links(page):
            assert not ref.startswith(("http:", "https:", "//")), f"{page}: external link {ref}"
            assert (page.parent / ref).resolve().exists(), f"{page}: broken link {ref}"
    index = (site / "index.html").read_text()
    assert "worse" in index and "ref-a" in index and "bad" in index
    case = (site / "cases" / "quartic.html").read_text()
    assert "run 2 (seed 0)" in case and "16 of 20 starts disagree" in case
    run = (site / "runs" / "bad" / "quartic" / "0-5.html").read_text()
    assert "critbench run --case quartic" in run and "--runs 6" in run and "<svg" in run and "ref-a" in run
    assert "<table>" in (site / "reproduce" / "table-9.9" / "index.html").read_text()
    assert "has not been built" in (site / "asv.html").read_text()


def test_site_without_runs_pages_scales_with_cells_not_runs(tmp_path: Path) -> None:
    n = 2000
    ref = records("ref-a", "quartic", pattern(n // 2, n))
    new = records("new", "quartic", pattern(n // 3, n))
    lb = lbr.rank_records(ref, {"suite": "toy-v1"}, new)
    t0 = time.perf_counter()
    info = build_site(tmp_path / "s", lb, docs_results=None, asv_html=None)
    assert info["run_pages"] == 0 and info["pages"] < 10
    assert time.perf_counter() - t0 < 30
    assert "... and" in (tmp_path / "s" / "cases" / "quartic.html").read_text()  # long lists are truncated


def test_serve_starts_and_stops(site: Path) -> None:
    server, url = start_server(site, 0)
    try:
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url, timeout=10) as resp:
            assert resp.status == 200 and b"critbench leaderboard" in resp.read()
    finally:
        server.shutdown()
        server.server_close()


def test_cli_site_serve_prints_url_and_stops(tmp_path: Path) -> None:
    """``critbench site OUT --serve``: builds, prints the 127.0.0.1 URL, serves until stopped (bounded)."""
    archive = write_toy_archive(tmp_path / "toy-v1.parquet", REF)
    new = write_set(tmp_path / "new", records("bad", "quartic", pattern(2)))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "site", str(tmp_path / "s"), "--results", str(new),
                             "--archive", str(archive), "--docs-results", str(tmp_path / "none"), "--serve"],
                            stdout=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 120
        line = ""
        while time.monotonic() < deadline and "serving" not in line:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
        assert "serving" in line, line
        url = line.split(" at ")[1].split()[0]
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url, timeout=10) as resp:
            assert resp.status == 200 and b"bad" in resp.read()
    finally:
        proc.terminate()
        proc.wait(timeout=20)


# --------------------------------------------------------------------------- headless Chromium


@pytest.mark.browser
def test_site_renders_in_headless_chromium(site: Path, tmp_path: Path) -> None:
    browser = find_browser()
    if browser is None:
        pytest.skip("no Chromium binary (apt-get install -y chromium, or ci/install_browser.sh); see docs/asv.md")
    server, url = start_server(site, 0)
    shot = tmp_path / "site.png"
    base = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--no-first-run", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
            f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
            "--virtual-time-budget=5000"]
    try:
        for page in (url, url.replace("index.html", "cases/quartic.html"),
                     url.replace("index.html", "runs/bad/quartic/0-5.html")):
            out = subprocess.run([*base, "--dump-dom", page], capture_output=True, text=True, timeout=120)
            assert out.returncode == 0, out.stderr[-2000:]
            assert "<table>" in out.stdout
            console = [ln for ln in out.stderr.splitlines() if "CONSOLE" in ln or "Failed to load resource" in ln]
            assert not console, console
        out = subprocess.run([*base, f"--screenshot={shot}", "--window-size=1280,900", url], capture_output=True,
                             text=True, timeout=120)
        assert out.returncode == 0, out.stderr[-2000:]
    finally:
        server.shutdown()
        server.server_close()
    Image = pytest.importorskip("PIL.Image")
    img = Image.open(shot).convert("RGB")
    colours = img.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 20, "screenshot is (nearly) one colour"
