#!/usr/bin/env bash
# Trusted clusters, with real processes: a root and a leaf (auth + proxy + node) joined through
# the leaf's reverse tunnel. Measures how soon the leaf is back `online` after the root restarts
# (RESTARTS times, from the new root's first line to `tctl get rc` showing online). Latency and
# throughput against OpenSSH are bench/versus.sh's; N tunnels on one root are measured there
# too. With --write, updates bench/RESULTS.md.
#
# Needs: python3 and root (the node runs commands as root).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
RESTARTS=${RESTARTS:-5}
bench_setup --bin tether --bin tctl --bin tsh

# The root on fixed ports, so it can be restarted in place.
trusted_pair root.bench leaf.bench bench
leaf_up() { leaf_online "$WORK/root" leaf.bench; }
TSH=("$BIN/tsh" ssh --cluster=leaf.bench root@leaf-node)

BACK=()
for _ in $(seq "$RESTARTS"); do
  kill "$ROOT_PID"; wait "$ROOT_PID" 2>/dev/null || true
  start_root
  T0=$(date +%s%N)
  until leaf_up; do sleep 0.02; done
  BACK+=($(( ($(date +%s%N) - T0) / 1000000 )))
done
BACK_MEDIAN=$(printf '%s\n' "${BACK[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
BACK_MAX=$(printf '%s\n' "${BACK[@]}" | sort -n | tail -1)
[ "$("${TSH[@]}" echo ok)" = ok ] || { echo "tsh ssh --cluster does not work after the restarts" >&2; exit 1; }

TABLE="Leaf back \`online\` after the root restarts ($RESTARTS restarts, from the new root's first
line to \`tctl get rc\` showing online): median $BACK_MEDIAN ms, worst $BACK_MAX ms (target: 3 s)."
echo "$TABLE"
if [[ ${1:-} == --write ]]; then
  write_section "Leaf back online after a root restart" "Measured by \`bench/trusted.sh --write\` on this machine's loopback, release build: a root, a
leaf (auth + proxy + node in one daemon) joined through its reverse tunnel.

$TABLE"
fi
