#!/usr/bin/env bash
# Debian's Chromium for the web UI's browser tests (test/ui/browser.test.ts) and the UI load
# benchmark (bench/ui-load.bench.ts), driven by playwright-core — never a downloaded browser.
# Installs the Debian package when missing (apt; quick when present), then prints
#   export CHROMIUM_PATH=/usr/bin/chromium
# on stdout (start-all.sh runs it; `eval "$(bash scripts/services/chromium.sh)"` alone works too).
set -euo pipefail
SERVICE=chromium
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

path="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [[ ! -x "$path" ]]; then
  if command -v chromium >/dev/null 2>&1; then
    path="$(command -v chromium)"
  else
    apt_install chromium
    path=/usr/bin/chromium
  fi
fi
[[ -x "$path" ]] || die "Debian's chromium did not install ($path missing)"
log "$("$path" --version 2>/dev/null | head -n1 || echo "chromium at $path")"
emit "CHROMIUM_PATH=$path"
