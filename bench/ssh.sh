#!/usr/bin/env bash
# tsh ssh vs OpenSSH with one jump, on this machine's loopback: median latency of running `true`
# and throughput of 1 GiB into `cat > /dev/null`. Prints a Markdown table; with --write, also
# replaces the "SSH path" section of bench/RESULTS.md.
#
# Needs: a release build (done here), OpenSSH's ssh and sshd (apt-get install openssh-client
# openssh-server), python3, and root (the node runs commands as root).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
bench_setup --bin tether --bin tctl --bin tsh

# --- Tether: auth + proxy + node in one daemon.
ANY=127.0.0.1:0
tether_yaml bench-node "$WORK/data" bench.example.com $ANY $ANY $ANY node > "$WORK/tether.yaml"
"$BIN/tether" start -c "$WORK/tether.yaml" > "$WORK/tether.out" 2> "$WORK/tether.log" &
PIDS+=($!)
for _ in $(seq 100); do grep -q listening "$WORK/tether.out" 2>/dev/null && break; sleep 0.1; done
WEB=$(head -1 "$WORK/tether.out" | awk '{print $NF}')
export TSH_HOME=$WORK/tsh
INVITE=$("$BIN/tctl" --data-dir "$WORK/data" users add bench --roles=access --logins=root | grep -o 'invite=[0-9a-f]*' | cut -d= -f2)
echo "bench-password" | "$BIN/tsh" login --proxy="$WEB" --user=bench --insecure --invite="$INVITE" --keystore=file > /dev/null 2>&1

start_openssh
tsh_s() { "$BIN/tsh" ssh root@bench-node "$@"; }

# Sanity: both paths work.
[ "$(tsh_s echo ok)" = ok ] || { echo "tsh ssh does not work" >&2; exit 1; }
[ "$(ssh_j echo ok)" = ok ] || { echo "ssh -J does not work" >&2; exit 1; }

TSH_LAT=$(median_ms "$BIN/tsh" ssh root@bench-node true)
SSH_LAT=$(median_ms ssh "${SSH_OPTS[@]}" -o "ProxyCommand=ssh ${SSH_OPTS[*]} -W %h:%p -p $PORT root@127.0.0.1" -p "$PORT" root@127.0.0.1 true)

TSH_TPUT=$(throughput "$BIN/tsh" ssh root@bench-node 'cat > /dev/null')
SSH_TPUT=$(throughput ssh "${SSH_OPTS[@]}" -o "ProxyCommand=ssh ${SSH_OPTS[*]} -W %h:%p -p $PORT root@127.0.0.1" -p "$PORT" root@127.0.0.1 'cat > /dev/null')

TABLE=$(cat <<MD
| path | median latency of \`true\` ($RUNS runs) | throughput, $((BYTES / 1048576)) MiB into \`cat > /dev/null\` |
|---|---|---|
| \`tsh ssh\` (tsh → proxy relay → node) | $TSH_LAT ms | $TSH_TPUT MB/s |
| OpenSSH \`ssh\` with one jump (ProxyCommand \`ssh -W\`) | $SSH_LAT ms | $SSH_TPUT MB/s |
| ratio tsh / OpenSSH | $(python3 -c "print(f'{$TSH_LAT/$SSH_LAT:.2f}×')") | $(python3 -c "print(f'{$TSH_TPUT/$SSH_TPUT:.2f}×')") |
MD
)
echo "$TABLE"
if [[ ${1:-} == --write ]]; then
  write_section "SSH path" "Measured by \`bench/ssh.sh\` on this machine's loopback, release build, both paths with one
intermediate hop.

$TABLE"
fi
