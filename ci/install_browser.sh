#!/usr/bin/env bash
# Install Debian's headless Chromium and the JavaScript libraries asv's HTML
# needs offline (used by tests/asv/test_history_renders.py). Needs root/apt.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 && [ -e /usr/share/javascript/jquery-flot ]; then
  exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "[critbench] not root or no apt-get: skipping browser install" >&2
  exit 1
fi
apt-get update -q >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
  chromium libjs-jquery libjs-jquery-flot libjs-jquery-stupidtable node-blueimp-md5 libjs-bootstrap >/dev/null
