#!/usr/bin/env bash
# CA rotation across the trust: one root, N leaves (default 1,000) each with a tunnel to it
# (bench/src/bin/tunnels.rs: real validate, real host-certificate logins, the tunnel protocol),
# then the root's user CA walked through init, update_clients, update_servers and standby. Per
# phase: the time from the move (`POST /webapi/authorities/rotate`) until every leaf's agent
# read the root's CAs in that phase on its tunnel. Target: ≤ 5 s at the 99th percentile.
# With --write, replaces the "CA rotation across 1,000 leaves" section of bench/RESULTS.md.
#
#   bench/rotation.sh [--write] [N]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
WRITE=
if [[ ${1:-} == --write ]]; then WRITE=1; shift; fi
N=${1:-1000}
bench_setup --bin tether --bin tctl --bin tunnels
OUT=$("$BIN/tunnels" --bin "$BIN" --n "$N" --rotate | tee /dev/stderr)
if [[ -n $WRITE ]]; then
  write_section "CA rotation across 1,000 leaves" "Measured $(date -u +%Y-%m-%d) by \`bench/rotation.sh\` ($N leaves, one root on SQLite, release build; the agents are bench tasks speaking the tunnel protocol, so the time is the root's: its move, the reload, and one \`Control::Authorities\` line on every tunnel).

$OUT"
fi
