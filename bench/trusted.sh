#!/usr/bin/env bash
# Trusted clusters, with real processes: a root, a leaf (auth + proxy + node) joined to it, and
# a user of the root. Measures `tsh ssh --cluster=leaf node true` (tsh → root proxy → tunnel →
# leaf proxy → node) against OpenSSH with one jump, bulk throughput on that path, and how soon
# the leaf is back online after the root restarts (RESTARTS times). Then runs the N-tunnel
# benchmark (bench/src/bin/tunnels.rs, N=${TUNNELS:-10000}). With --write, updates
# bench/RESULTS.md.
#
# Needs: what bench/ssh.sh needs (OpenSSH client and server, python3, root).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
RESTARTS=${RESTARTS:-5}
TUNNELS=${TUNNELS:-10000}
bench_setup --bin tether --bin tctl --bin tsh --bin tunnels

# The root on fixed ports, so it can be restarted in place.
trusted_pair root.bench leaf.bench bench
leaf_up() { leaf_online "$WORK/root" leaf.bench; }

start_openssh
TSH=("$BIN/tsh" ssh --cluster=leaf.bench root@leaf-node)
[ "$("${TSH[@]}" echo ok)" = ok ] || { echo "tsh ssh --cluster does not work" >&2; exit 1; }
[ "$(ssh_j echo ok)" = ok ] || { echo "ssh -J does not work" >&2; exit 1; }
TSH_LAT=$(median_ms "${TSH[@]}" true)
SSH_LAT=$(median_ms ssh "${SSH_OPTS[@]}" -o "ProxyCommand=ssh ${SSH_OPTS[*]} -W %h:%p -p $PORT root@127.0.0.1" -p "$PORT" root@127.0.0.1 true)
TSH_TPUT=$(throughput "${TSH[@]}" 'cat > /dev/null')
SSH_TPUT=$(throughput ssh "${SSH_OPTS[@]}" -o "ProxyCommand=ssh ${SSH_OPTS[*]} -W %h:%p -p $PORT root@127.0.0.1" -p "$PORT" root@127.0.0.1 'cat > /dev/null')

# Root restarts: from the new root's "listening" line to the leaf showing online again.
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

TABLE=$(cat <<MD
| path | median latency of \`true\` ($RUNS runs) | throughput, $((BYTES / 1048576)) MiB into \`cat > /dev/null\` |
|---|---|---|
| \`tsh ssh --cluster=leaf\` (tsh → root proxy → tunnel → leaf proxy → node) | $TSH_LAT ms | $TSH_TPUT MB/s |
| OpenSSH \`ssh\` with one jump (ProxyCommand \`ssh -W\`) | $SSH_LAT ms | $SSH_TPUT MB/s |
| ratio tsh / OpenSSH | $(python3 -c "print(f'{$TSH_LAT/$SSH_LAT:.2f}×')") | $(python3 -c "print(f'{$TSH_TPUT/$SSH_TPUT:.2f}×')") |

Leaf back \`online\` after the root restarts ($RESTARTS restarts, from the new root's first
line to \`tctl get rc\` showing online): median $BACK_MEDIAN ms, worst $BACK_MAX ms (target: 3 s).
MD
)
echo "$TABLE"
echo
TUNNEL_TABLE=$("$BIN/tunnels" --bin "$BIN" --n "$TUNNELS")
echo "$TUNNEL_TABLE"
if [[ ${1:-} == --write ]]; then
  write_section "Trusted cluster path" "Measured by \`bench/trusted.sh\` on this machine's loopback, release build: a root, a leaf
(auth + proxy + node in one daemon) joined through its reverse tunnel, and OpenSSH with one jump
for comparison.

$TABLE"
  write_section "Leaf tunnels on one root" "Measured by \`bench/trusted.sh\` (\`bench/src/bin/tunnels.rs\`): a real release \`tether\` root,
N leaves registered through the real validate endpoint, and N lightweight agents (tokio tasks in
one process speaking the tunnel protocol: host-certificate login, control subsystem, heartbeats
every 5 s). Memory is the root's resident set (VmRSS) with N idle tunnels minus before any.

$TUNNEL_TABLE"
fi
