"""Performance history across commits with asv, viewable in a browser.

``critbench history [--commits N] [--open]`` runs the asv benchmarks of the
*current* checkout (``benchmarks/``) against the code of each of the last ``N``
commits, publishes the asv web pages and serves them on ``127.0.0.1``.

How a commit is benchmarked (no per-commit install, works offline):

1. ``git archive <commit>`` is extracted into a temporary directory;
2. ``asv run --environment existing:<this python> --set-commit-hash <commit>``
   runs with ``ASV_PYTHONPATH`` set to that directory (asv drops
   ``PYTHONPATH`` but passes ``ASV_PYTHONPATH`` on as ``PYTHONPATH``).  Path
   entries come before the editable install of the working tree (its finder
   is appended to ``sys.meta_path``), and asv imports only the ``benchmarks``
   package from ``benchmark_dir``, so ``cases`` and ``harness`` resolve to the
   extracted commit; :func:`check_imports` verifies that before each run.
3. ``asv publish`` writes the html; results accumulate in ``<out>/results``
   (re-running a commit overwrites its points).

Benchmarks missing pieces at an old commit are reported as skipped (see
``benchmarks/__init__.py``).  Maintainers: ``docs/asv.md``.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import webbrowser
from collections.abc import Sequence
from pathlib import Path
from typing import Any

#: Relative slowdown above which :func:`compare` fails (``asv compare --factor``).
DEFAULT_FACTOR = 1.5
#: ``track_`` benchmarks for which a *larger* value is better (asv assumes
#: smaller is better for everything); a decrease of these is a regression.
HIGHER_IS_BETTER = re.compile(r"track_(success|correct|gradient_flat|near_flat)")


class HistoryError(RuntimeError):
    """A git or asv step failed (one-line message)."""


def repo_root(start: str | os.PathLike[str] | None = None) -> Path:
    """The git top-level directory containing ``start`` (default: this package's checkout)."""
    start = Path(start) if start is not None else Path(__file__).resolve().parent
    out = _git(start, "rev-parse", "--show-toplevel")
    return Path(out.strip())


def _git(repo: Path, *args: str) -> str:
    try:
        return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout
    except FileNotFoundError:
        raise HistoryError("git is not installed") from None
    except subprocess.CalledProcessError as exc:
        raise HistoryError(f"git {' '.join(args)} failed: {exc.stderr.strip()}") from None


def last_commits(repo: Path, n: int, rev: str = "HEAD") -> list[str]:
    """The last ``n`` first-parent commits of ``rev``, oldest first (full hashes)."""
    if n < 1:
        raise HistoryError(f"--commits must be >= 1, got {n}")
    out = _git(repo, "rev-list", "--first-parent", f"--max-count={n}", rev)
    return list(reversed(out.split()))


def _load_conf(path: Path) -> dict[str, Any]:
    """asv.conf.json (asv allows ``//`` comment lines)."""
    text = "\n".join(line for line in path.read_text().splitlines() if not line.lstrip().startswith("//"))
    return json.loads(text)


def write_conf(repo: Path, out_dir: Path) -> Path:
    """A copy of ``repo/asv.conf.json`` with absolute paths under ``out_dir``.

    The benchmarks are those of ``repo``'s working tree; results, html and
    (unused) environments go to ``out_dir/{results,html,env}``.
    """
    base = repo / "asv.conf.json"
    conf = _load_conf(base) if base.exists() else {"version": 1, "project": "critbench"}
    conf.update(
        repo=str(repo),
        benchmark_dir=str(repo / conf.get("benchmark_dir", "benchmarks")),
        results_dir=str(out_dir / "results"),
        html_dir=str(out_dir / "html"),
        env_dir=str(out_dir / "env"),
        environment_type="existing",
        pythons=["same"],
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "asv.conf.json"
    path.write_text(json.dumps(conf, indent=2) + "\n")
    return path


def _asv(python: str, conf: Path, *args: str, env: dict[str, str] | None = None,
         capture: bool = False) -> subprocess.CompletedProcess:
    cmd = [python, "-m", "asv", *args[:1], "--config", str(conf), *args[1:]]
    proc = subprocess.run(cmd, env={**os.environ, **(env or {})}, text=True,
                          capture_output=capture, cwd=str(conf.parent))
    return proc


def extract_commit(repo: Path, commit: str, dest: Path) -> Path:
    """Extract the tree of ``commit`` into ``dest`` (no checkout, no repo change)."""
    dest.mkdir(parents=True, exist_ok=True)
    archive = dest.parent / f"{commit}.tar"
    _git(repo, "archive", "--format=tar", "-o", str(archive), commit)
    with tarfile.open(archive) as tf:
        tf.extractall(dest, filter="data") if hasattr(tarfile, "data_filter") else tf.extractall(dest)
    archive.unlink()
    return dest


def check_imports(python: str, src: Path) -> dict[str, str]:
    """Import ``cases`` and ``harness`` as the benchmarks will (``PYTHONPATH=src``)
    and check that each package present in ``src`` resolves to ``src``.

    Returns:
        ``{package: file}`` of the packages present at this commit.

    Raises:
        HistoryError: a package resolved elsewhere (e.g. to the editable install).
    """
    pkgs = [p for p in ("cases", "harness") if (src / p / "__init__.py").exists()]
    if not pkgs:
        return {}
    code = ("import importlib.util, json, sys; "
            "print(json.dumps({p: importlib.util.find_spec(p).origin for p in sys.argv[1:]}))")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(src)
    out = subprocess.run([python, "-c", code, *pkgs], env=env, capture_output=True, text=True, cwd=str(src.parent))
    if out.returncode != 0:
        raise HistoryError(f"cannot locate packages at {src}: {out.stderr.strip()[-300:]}")
    found = json.loads(out.stdout)
    for pkg, origin in found.items():
        if not Path(origin).resolve().is_relative_to(src.resolve()):
            raise HistoryError(f"{pkg} imports from {origin}, not from the commit's tree {src}")
    return found


def build_history(
    n_commits: int = 3,
    out_dir: str | os.PathLike[str] = ".asv",
    *,
    repo: str | os.PathLike[str] | None = None,
    rev: str = "HEAD",
    commits: Sequence[str] | None = None,
    python: str | None = None,
    quick: bool = True,
    bench: Sequence[str] = (),
    publish: bool = True,
    log=print,
) -> Path:
    """Run the benchmarks over the last ``n_commits`` commits of ``rev`` and publish.

    Args:
        n_commits: how many first-parent commits, ending at ``rev``.
        out_dir: holds ``asv.conf.json`` (generated), ``results/`` and ``html/``;
            relative paths are taken relative to the repository root.
        repo: the git checkout (default: the one this module lives in).
        commits: explicit commits instead of ``n_commits``/``rev``.
        python: interpreter with critbench's dependencies and asv (default: this one).
        quick: ``asv run --quick`` (one sample per benchmark).
        bench: ``--bench`` regular expressions (default: all benchmarks).
        publish: run ``asv publish`` at the end.

    Returns:
        The html directory (``out_dir/html``).
    """
    repo = repo_root(repo)
    out = Path(out_dir)
    out = (out if out.is_absolute() else repo / out).resolve()
    python = python or sys.executable
    conf = write_conf(repo, out)
    hashes = list(commits) if commits else last_commits(repo, n_commits, rev)
    hashes = [_git(repo, "rev-parse", "--verify", f"{h}^{{commit}}").strip() for h in hashes]
    proc = _asv(python, conf, "machine", "--yes", capture=True)
    if proc.returncode != 0:
        raise HistoryError(f"asv machine failed: {proc.stderr.strip()[-500:]}")
    with tempfile.TemporaryDirectory(prefix="critbench-history-") as tmp:
        for i, h in enumerate(hashes, 1):
            subject = _git(repo, "log", "-1", "--format=%s", h).strip()
            log(f"[history] {i}/{len(hashes)} {h[:8]} {subject[:60]}", flush=True)
            src = extract_commit(repo, h, Path(tmp) / h[:12] / "src")
            found = check_imports(python, src)
            log(f"[history]   imports: {', '.join(f'{k} from {Path(v).parent}' for k, v in found.items()) or 'none'}",
                flush=True)
            args = ["run", "--environment", f"existing:{python}", "--set-commit-hash", h, "--show-stderr"]
            if quick:
                args.append("--quick")
            for b in bench:
                args += ["--bench", b]
            proc = _asv(python, conf, *args, env={"ASV_PYTHONPATH": str(src)})
            # asv run exits 2 when some benchmark failed; the others are still recorded.
            if proc.returncode not in (0, 2):
                raise HistoryError(f"asv run failed at {h[:8]} (exit {proc.returncode})")
            shutil.rmtree(src, ignore_errors=True)
    if publish:
        proc = _asv(python, conf, "publish")
        if proc.returncode != 0:
            raise HistoryError(f"asv publish failed (exit {proc.returncode})")
        vendor_assets(out / "html")
    return out / "html"


#: Local copies of the JavaScript/CSS that asv's html loads from CDNs (asv 0.6):
#: CDN file name -> candidate local files.  Debian: ``apt-get install
#: libjs-jquery libjs-jquery-flot libjs-jquery-stupidtable node-blueimp-md5
#: libjs-bootstrap``.  ``$CRITBENCH_ASV_VENDOR/<CDN file name>`` is tried first
#: (e.g. the exact CDN versions fetched with npm).  ``None``: a stub is enough
#: (flot 4's bundle already contains the time/selection/categories plugins;
#: orderBars only orders bar charts, which critbench's benchmarks do not draw).
VENDOR = {
    "jquery-3.3.1.min.js": ["/usr/share/javascript/jquery/jquery.min.js"],
    "jquery.flot.min.js": ["/usr/share/javascript/jquery-flot/jquery.flot.min.js"],
    "jquery.flot.time.min.js": None,
    "jquery.flot.selection.min.js": None,
    "jquery.flot.categories.min.js": None,
    "jquery.flot.orderBars.js": None,
    "stupidtable.min.js": ["/usr/share/javascript/jquery-stupidtable/stupidtable.min.js"],
    "md5.min.js": ["/usr/share/javascript/blueimp-md5/md5.min.js", "/usr/share/javascript/blueimp-md5/md5.js"],
    "bootstrap.min.js": ["/usr/share/javascript/bootstrap/js/bootstrap.min.js"],
    "bootstrap.min.css": ["/usr/share/javascript/bootstrap/css/bootstrap.min.css"],
}
_CDN_TAG = re.compile(r'<(script|link)\b[^>]*?(?:src|href)="(https://[^"]+)"[^>]*>')


def vendor_assets(html_dir: str | os.PathLike[str]) -> dict[str, str]:
    """Make the published html work offline: copy local versions of the CDN
    assets into ``html_dir/vendor/`` and point the pages at them.

    A page whose assets cannot all be found locally keeps the CDN links for
    the missing ones (it then needs the internet, as plain ``asv publish``).

    Returns:
        ``{CDN file name: local source}`` of what was vendored (``"stub"`` for stubs).
    """
    html = Path(html_dir)
    vendor = html / "vendor"
    vendor.mkdir(exist_ok=True)
    extra = os.environ.get("CRITBENCH_ASV_VENDOR")
    done: dict[str, str] = {}
    for name, candidates in VENDOR.items():
        cands = ([str(Path(extra) / name)] if extra else []) + list(candidates or [])
        src = next((c for c in cands if Path(c).is_file()), None)
        if src is not None:
            shutil.copyfile(src, vendor / name)
            done[name] = src
        elif candidates is None:
            (vendor / name).write_text(f"/* {name}: not needed by critbench's pages (offline stub) */\n")
            done[name] = "stub"

    def fix(m: re.Match) -> str:
        url = m.group(2)
        name = url.rsplit("/", 1)[-1]
        if name not in done:
            return m.group(0)
        out = m.group(0).replace(url, f"vendor/{name}")
        return re.sub(r'\s(integrity|crossorigin|referrerpolicy)="[^"]*"', "", out)

    # flot >= 3 (Debian's bundle) has the axisLabels plugin built in; asv's own
    # copy would then draw every axis label twice.
    flot = vendor / "jquery.flot.min.js"
    flot4 = done.get("jquery.flot.min.js", "").startswith("/") and "axisLabels" in flot.read_text(errors="ignore")
    for page in html.glob("*.html"):
        text = page.read_text()
        new = _CDN_TAG.sub(fix, text)
        if flot4:
            new = new.replace('src="jquery.flot.axislabels.js"', 'src="vendor/jquery.flot.orderBars.js"')
        if new != text:
            page.write_text(new)
    return done


def serve(html_dir: str | os.PathLike[str], port: int = 0, host: str = "127.0.0.1") -> http.server.ThreadingHTTPServer:
    """An http server for ``html_dir`` on ``host:port`` (0: a free port), running in a daemon thread."""
    handler = functools.partial(_QuietHandler, directory=str(html_dir))
    server = http.server.ThreadingHTTPServer((host, port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


def url_of(server: http.server.ThreadingHTTPServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{host}:{port}/"


def compare(base: str, new: str, *, out_dir: str | os.PathLike[str] = ".asv", factor: float = DEFAULT_FACTOR,
            repo: str | os.PathLike[str] | None = None, python: str | None = None, log=print) -> int:
    """``asv compare --factor F --split`` of two benchmarked commits; 1 if any regressed.

    ``asv compare`` itself always exits 0; this parses its table.  A regression
    is a ``time_``/``peakmem_``/``track_`` benchmark that got worse by more than
    ``factor`` (``+``), a ``track_`` benchmark in :data:`HIGHER_IS_BETTER` that
    *decreased* by more than ``factor`` (``-``), or one that failed on ``new``
    but not on ``base`` (``!``).
    """
    repo = repo_root(repo)
    out = Path(out_dir)
    out = (out if out.is_absolute() else repo / out).resolve()
    python = python or sys.executable
    conf = write_conf(repo, out)
    proc = _asv(python, conf, "compare", "--factor", str(factor), "--split", base, new, capture=True)
    log(proc.stdout, end="")
    if proc.returncode != 0:
        log(proc.stderr, end="", file=sys.stderr)
        return proc.returncode
    bad = regressions(proc.stdout)
    if bad:
        log(f"[history] {len(bad)} regression(s) beyond factor {factor}: {', '.join(bad)}")
        return 1
    log(f"[history] no regression beyond factor {factor}")
    return 0


def regressions(table: str) -> list[str]:
    """Names of regressed benchmarks in ``asv compare`` output (see :func:`compare`)."""
    bad = []
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if "|" in line else line.split()
        if len(cells) < 5 or cells[0] not in {"+", "-", "!"}:
            continue
        name = cells[-1].split()[0]
        higher_better = bool(HIGHER_IS_BETTER.search(name))
        mark = cells[0]
        if mark == "!" or (mark == "+" and not higher_better) or (mark == "-" and higher_better):
            bad.append(name)
    return bad


def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of ``critbench history`` (for the CLI's subparser)."""
    p.add_argument("--commits", type=int, default=3, help="number of commits, ending at --rev (default 3)")
    p.add_argument("--rev", default="HEAD", help="last commit of the history (default HEAD)")
    p.add_argument("--commit", action="append", default=[], metavar="REV",
                   help="benchmark exactly these commits (repeatable; overrides --commits/--rev)")
    p.add_argument("--out", default=".asv", help="asv directory (results/, html/); default .asv in the repo")
    p.add_argument("--bench", action="append", default=[], metavar="REGEX", help="only benchmarks matching REGEX")
    p.add_argument("--full", action="store_true", help="full asv sampling instead of --quick")
    p.add_argument("--no-run", action="store_true", help="only publish and serve the stored results")
    p.add_argument("--no-serve", action="store_true", help="build and publish, do not serve")
    p.add_argument("--port", type=int, default=0, help="port to serve on (default: a free one)")
    p.add_argument("--open", action="store_true", help="open the page in a browser, if one is available")
    return p


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="critbench history", description=__doc__.split("\n\n")[0])
    return add_arguments(p).parse_args(list(argv))


def main_history(args: Any = None) -> int:
    """``critbench history``: ``args`` is the CLI namespace (options from
    :func:`add_arguments`, or unparsed ones in ``args.rest``) or an argv list."""
    if isinstance(args, argparse.Namespace) and hasattr(args, "commits"):
        ns = args  # the CLI's subparser used add_arguments()
    else:
        argv = getattr(args, "rest", args) if args is not None else sys.argv[1:]
        ns = parse_args([a for a in (argv or []) if a != "--"])
    try:
        if ns.no_run:
            repo = repo_root()
            out = Path(ns.out) if Path(ns.out).is_absolute() else repo / ns.out
            conf = write_conf(repo, out)
            if _asv(sys.executable, conf, "publish").returncode != 0:
                raise HistoryError("asv publish failed")
            html = out / "html"
            vendor_assets(html)
        else:
            html = build_history(ns.commits, ns.out, rev=ns.rev, commits=ns.commit or None,
                                 quick=not ns.full, bench=ns.bench)
    except HistoryError as exc:
        print(f"critbench history: error: {exc}", file=sys.stderr)
        return 1
    print(f"[history] html written to {html}")
    if ns.no_serve:
        return 0
    server = serve(html, ns.port)
    url = url_of(server)
    print(f"[history] serving at {url}  (Ctrl-C to stop)", flush=True)
    if ns.open:
        try:
            webbrowser.get()
        except webbrowser.Error:
            print("[history] no browser available; open the URL above by hand")
        else:
            webbrowser.open(url)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main_history(sys.argv[1:]))
