#!/usr/bin/env bash
# The web UI's page load in a real headless Chromium (Debian's chromium and chromium-driver) from
# a warm proxy on loopback: one root, one user who sets their password from the invite in the
# page, then 50 loads of the landing page timed by the browser's Navigation Timing
# (bench/src/bin/webui.rs). Target: the load event under 100 ms.
# With --write, replaces the "Web UI page load" section of bench/RESULTS.md.
#
#   bench/webui.sh [--write] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
WRITE=
if [[ ${1:-} == --write ]]; then WRITE=1; shift; fi
LOADS=${1:-50}
bench_setup --bin tether --bin tctl --bin webui
root_config root.example.com
start_root
INVITE=$("$BIN/tctl" -c "$WORK/root.yaml" users add alice --roles=access --logins=alice \
  | grep -o -- '--invite=[^ ]*' | head -1 | cut -d= -f2)
[[ -n $INVITE ]] || { echo "tctl users add printed no invite" >&2; exit 1; }
OUT=$("$BIN/webui" --addr "$ROOT_WEB" --user alice --invite "$INVITE" --password "correct-horse-battery" \
  --runs "$LOADS" | tee /dev/stderr)
if [[ -n $WRITE ]]; then
  write_section "Web UI page load" "Measured $(date -u +%Y-%m-%d) by \`bench/webui.sh\` (release build, one root on SQLite, headless Chromium $(chromium --version 2>/dev/null | grep -o '[0-9][0-9.]*' | head -1) on the same 2-core machine; each load is a navigation to \`/\` with the session cookie set, the proxy and browser warm; times from the navigation's start, by the browser's Navigation Timing).

$OUT"
fi
