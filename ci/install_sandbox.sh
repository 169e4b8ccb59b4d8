#!/usr/bin/env bash
# Install bubblewrap (Debian's `bubblewrap` package), the OS sandbox critbench runs plug-in
# solvers in (harness/run/sandbox.py). Best effort: without it plug-ins run as plain processes,
# each record says sandbox "none", and the sandbox tests skip.
set -euo pipefail
if command -v bwrap >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "[critbench] not root or no apt-get: skipping the bubblewrap install" >&2
  exit 1
fi
apt-get update -q >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends bubblewrap >/dev/null
