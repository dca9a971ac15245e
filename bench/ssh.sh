#!/usr/bin/env bash
# tsh ssh vs OpenSSH with one jump, on this machine's loopback: median latency of running `true`
# and throughput of 1 GiB into `cat > /dev/null`. Prints a Markdown table; with --write, also
# replaces the "SSH path" section of bench/RESULTS.md.
#
# Needs: a release build (done here), OpenSSH's ssh and sshd (apt-get install openssh-client
# openssh-server), python3, and root (the node runs commands as root).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-30}
BYTES=${BYTES:-1073741824}
cargo build --release --quiet --bin tether --bin tctl --bin tsh
BIN=$PWD/target/release
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

# --- Tether: auth + proxy + node in one daemon.
cat > "$WORK/tether.yaml" <<YAML
teleport:
  nodename: bench-node
  data_dir: $WORK/data
auth_service:
  cluster_name: bench.example.com
  listen_addr: 127.0.0.1:0
proxy_service:
  web_listen_addr: 127.0.0.1:0
  listen_addr: 127.0.0.1:0
  tunnel_listen_addr: 127.0.0.1:0
ssh_service:
  listen_addr: 127.0.0.1:0
YAML
"$BIN/tether" start -c "$WORK/tether.yaml" > "$WORK/tether.out" 2> "$WORK/tether.log" &
PIDS+=($!)
for _ in $(seq 100); do grep -q listening "$WORK/tether.out" 2>/dev/null && break; sleep 0.1; done
WEB=$(head -1 "$WORK/tether.out" | awk '{print $NF}')
export TSH_HOME=$WORK/tsh
INVITE=$("$BIN/tctl" --data-dir "$WORK/data" users add bench --roles=access --logins=root | grep -o 'invite=[0-9a-f]*' | cut -d= -f2)
echo "bench-password" | "$BIN/tsh" login --proxy="$WEB" --user=bench --insecure --invite="$INVITE" --keystore=file > /dev/null 2>&1

# --- OpenSSH: one sshd serving as both the jump host and the target.
mkdir -p /run/sshd "$WORK/ssh"
ssh-keygen -q -t ed25519 -N '' -f "$WORK/ssh/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$WORK/ssh/user_key"
cp "$WORK/ssh/user_key.pub" "$WORK/ssh/authorized_keys"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$WORK/ssh/sshd_config" <<CFG
Port $PORT
ListenAddress 127.0.0.1
HostKey $WORK/ssh/host_key
AuthorizedKeysFile $WORK/ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
PidFile $WORK/ssh/sshd.pid
CFG
/usr/sbin/sshd -D -e -f "$WORK/ssh/sshd_config" 2> "$WORK/ssh/sshd.log" &
PIDS+=($!)
sleep 0.5
SSH_OPTS=(-F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -i "$WORK/ssh/user_key")
JUMP="root@127.0.0.1:$PORT"
ssh_j() { ssh "${SSH_OPTS[@]}" -o "ProxyCommand=ssh ${SSH_OPTS[*]} -W %h:%p -p $PORT root@127.0.0.1" -p "$PORT" root@127.0.0.1 "$@"; }
tsh_s() { "$BIN/tsh" ssh root@bench-node "$@"; }

# Sanity: both paths work.
[ "$(tsh_s echo ok)" = ok ] || { echo "tsh ssh does not work" >&2; exit 1; }
[ "$(ssh_j echo ok)" = ok ] || { echo "ssh -J does not work" >&2; exit 1; }

median_ms() { # runs "$@" RUNS times, prints the median wall time in ms
  python3 - "$RUNS" "$@" <<'PY'
import statistics, subprocess, sys, time
runs = int(sys.argv[1]); cmd = sys.argv[2:]
times = []
for _ in range(runs):
    t = time.perf_counter(); subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL); times.append((time.perf_counter() - t) * 1000)
print(f"{statistics.median(times):.1f}")
PY
}
export -f ssh_j tsh_s 2>/dev/null || true
export BIN SSH_OPTS_STR="${SSH_OPTS[*]}" PORT
TSH_LAT=$(median_ms "$BIN/tsh" ssh root@bench-node true)
SSH_LAT=$(median_ms ssh "${SSH_OPTS[@]}" -o "ProxyCommand=ssh ${SSH_OPTS[*]} -W %h:%p -p $PORT root@127.0.0.1" -p "$PORT" root@127.0.0.1 true)

throughput() { # prints MB/s of BYTES through the command
  python3 - "$BYTES" "$@" <<'PY'
import subprocess, sys, time
n = int(sys.argv[1]); cmd = sys.argv[2:]
t = time.perf_counter()
p = subprocess.Popen(["bash", "-c", f"head -c {n} /dev/zero | \"$@\"", "x", *cmd])
p.wait()
if p.returncode != 0: sys.exit(p.returncode)
print(f"{n / (time.perf_counter() - t) / 1e6:.0f}")
PY
}
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
  python3 - "$TABLE" <<'PY'
import re, sys, datetime
table = sys.argv[1]
path = "bench/RESULTS.md"
text = open(path).read()
section = f"## SSH path ({datetime.date.today()})\n\nMeasured by `bench/ssh.sh` on this machine's loopback, release build, both paths with one\nintermediate hop.\n\n{table}\n"
if "## SSH path" in text:
    text = re.sub(r"## SSH path.*?(?=\n## |\Z)", section, text, flags=re.S)
else:
    text = text.rstrip("\n") + "\n\n" + section
open(path, "w").write(text)
PY
fi
