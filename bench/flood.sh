#!/usr/bin/env bash
# Trusted clusters under a connection flood, with real release processes on 127.0.0.1: a root, a
# leaf (auth + proxy, started with --insecure) and a leaf node (its own daemon), on fixed ports,
# with the DEFAULT connection limits except login_grace_time 10s and web_request_timeout 5s
# (shorter deadlines keep the run bounded in time; they do not favour the daemons).
#
# bench/src/bin/flood.rs floods all nine listeners at once (root: web, auth API, SSH proxy,
# tunnel; leaf: web, auth API, SSH proxy, tunnel; node) from 127.0.0.2 … 127.0.0.9 for
# FLOOD_SECS seconds: silent sockets, SSH banners that stall, slowloris HTTPS, re-opened as the
# server closes them; and a second generator floods the leaf node from 127.0.0.1, the address
# the leaf's proxy dials it from. Meanwhile, from 127.0.0.1, a loop times legitimate operations:
# `tsh ssh --cluster=LEAF visitor@NODE true`, `tsh ls`, `tsh ls --cluster=LEAF`,
# `tctl get rc` (root) and a leaf tunnel reconnect (trust disabled, then enabled with
# `tctl create --force`, timed from the enable to the leaf `online` in `tsh clusters`).
# Also records the daemons' open file descriptors (/proc/PID/fd) before, during and after.
#
# Usage: bench/flood.sh [--write]   (--write replaces the "Under a flood" section of
# bench/RESULTS.md). Needs: root (the node runs `true` as the Unix user visitor, created if
# missing), python3. Tunables (environment): FLOOD_SECS (90), PER_SOURCE (72 workers per
# listener and source address), BASELINE_ROUNDS (10), TOGGLE_EVERY (3 rounds), MAX_CONNS (500000,
# a hard cap on flood sockets). Copies of the raw data stay in FLOOD_OUT (/tmp/flood-last).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh

FLOOD_SECS=${FLOOD_SECS:-90}
PER_SOURCE=${PER_SOURCE:-72}
BASELINE_ROUNDS=${BASELINE_ROUNDS:-10}
TOGGLE_EVERY=${TOGGLE_EVERY:-3}
SSH_GRACE=10 # login_grace_time, seconds
WEB_GRACE=5  # web_request_timeout, seconds
SLACK=2      # a flood socket must be closed within deadline + SLACK after its last byte
ROOT=root.flood
LEAF=leaf.flood
NODE=leaf-node

# Many sockets on both sides.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

cargo build --release --quiet --bin tether --bin tctl --bin tsh --bin flood
BIN=${CARGO_TARGET_DIR:-$PWD/target}/release
[[ $BIN = /* ]] || BIN=$PWD/$BIN
WORK=$(mktemp -d /tmp/flood.XXXXXX)
PIDS=()
stop_all() {
  # Every process this script started, by PID: SIGTERM, then SIGKILL after 40 s (the daemons
  # drain for up to shutdown_grace, 30 s by default).
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 400); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
}
trap 'stop_all; [[ -n ${KEEP_WORK:-} ]] || rm -rf "$WORK"' EXIT
id visitor > /dev/null 2>&1 || useradd --create-home visitor

# Fixed free ports, so every listener can be named to the flood before it starts: nine distinct
# ports below the kernel's ephemeral range, so no client socket takes one before its daemon binds.
read -r -a P <<< "$(python3 - <<'PY'
import random, socket
lo = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
held, ports = [], []
while len(ports) < 9:
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", random.randrange(max(1024, lo - 12000), lo)))
    except OSError:
        continue
    held.append(s)
    ports.append(s.getsockname()[1])
print(*ports)
PY
)"
R_WEB=127.0.0.1:${P[0]} R_AUTH=127.0.0.1:${P[1]} R_SSH=127.0.0.1:${P[2]} R_TUN=127.0.0.1:${P[3]}
L_WEB=127.0.0.1:${P[4]} L_AUTH=127.0.0.1:${P[5]} L_SSH=127.0.0.1:${P[6]} L_TUN=127.0.0.1:${P[7]}
N_SSH=127.0.0.1:${P[8]}

# Default connection limits, except the two deadlines (see the header).
LIMITS="  connection_limits:
    login_grace_time: ${SSH_GRACE}s
    web_request_timeout: ${WEB_GRACE}s"
cluster_yaml() { # NAME DATA WEB AUTH SSH TUN
  cat <<YAML
teleport:
  nodename: $1-proxy
  data_dir: $2
$LIMITS
auth_service:
  cluster_name: $1
  listen_addr: $4
proxy_service:
  web_listen_addr: $3
  listen_addr: $5
  tunnel_listen_addr: $6
YAML
}
cluster_yaml $ROOT "$WORK/root" $R_WEB $R_AUTH $R_SSH $R_TUN > "$WORK/root.yaml"
cluster_yaml $LEAF "$WORK/leaf" $L_WEB $L_AUTH $L_SSH $L_TUN > "$WORK/leaf.yaml"

# start NAME WAIT_FOR ARGS...: a daemon with stdout in WORK/NAME.out, stderr in WORK/NAME.log;
# sets STARTED to its PID once WAIT_FOR appears on stdout.
start() {
  local name=$1 want=$2; shift 2
  "$BIN/tether" start "$@" > "$WORK/$name.out" 2> "$WORK/$name.log" &
  STARTED=$!
  PIDS+=("$STARTED")
  for _ in $(seq 300); do grep -q "$want" "$WORK/$name.out" 2>/dev/null && return; sleep 0.1; done
  echo "$name did not start; log:" >&2; cat "$WORK/$name.log" >&2; exit 1
}
start root "tunnel listening" -c "$WORK/root.yaml"; ROOT_PID=$STARTED
start leaf "tunnel listening" --insecure -c "$WORK/leaf.yaml"; LEAF_PID=$STARTED
rtctl() { "$BIN/tctl" --data-dir "$WORK/root" "$@"; }
ltctl() { "$BIN/tctl" --data-dir "$WORK/leaf" "$@"; }

NODE_TOKEN=$(ltctl tokens add --type=node | sed -n 's/.*token: //p' | head -1)
cat > "$WORK/node.yaml" <<YAML
teleport:
  nodename: $NODE
  data_dir: $WORK/node
  auth_token: $NODE_TOKEN
  proxy_server: $L_WEB
$LIMITS
ssh_service:
  listen_addr: $N_SSH
  labels:
    env: demo
YAML
start node "ssh service listening" --insecure -c "$WORK/node.yaml"; NODE_PID=$STARTED

# Leaf: the guide's visitor role. Root: user bench (access, login visitor), logged in with tsh.
cat > "$WORK/visitor.yaml" <<YAML
kind: role
version: v5
metadata:
  name: visitor
spec:
  allow:
    logins:
    - visitor
    node_labels:
      '*': '*'
YAML
ltctl create "$WORK/visitor.yaml" > /dev/null
export TSH_HOME=$WORK/tsh HOME=$WORK/home
mkdir -p "$HOME"
INVITE=$(rtctl users add bench --roles=access --logins=visitor | grep -o -m1 -- '--invite=[0-9a-f]*' | cut -d= -f2)
echo "bench-password" | "$BIN/tsh" login --proxy="$R_WEB" --user=bench --insecure --invite="$INVITE" --keystore=file > /dev/null

# Trust: a root token; the leaf maps the root's access role to visitor.
TC_TOKEN=$(rtctl tokens add --type=trusted_cluster | sed -n 's/.*token: //p' | head -1)
tc_yaml() { # ENABLED
  cat <<YAML
kind: trusted_cluster
version: v2
metadata:
  name: $ROOT
spec:
  enabled: $1
  token: $TC_TOKEN
  tunnel_addr: $R_TUN
  web_proxy_addr: $R_WEB
  role_map:
  - remote: access
    local: [visitor]
YAML
}
tc_yaml true > "$WORK/tc-on.yaml"
tc_yaml false > "$WORK/tc-off.yaml"
ltctl create "$WORK/tc-on.yaml" > /dev/null
leaf_status() { "$BIN/tsh" clusters 2>/dev/null | awk -v c=$LEAF '$1 == c {print $2}'; }
leaf_online() { [ "$(leaf_status)" = online ]; }
for _ in $(seq 200); do leaf_online && break; sleep 0.1; done
leaf_online || { echo "the leaf did not come online" >&2; exit 1; }
TSH_SSH=("$BIN/tsh" ssh --cluster=$LEAF visitor@$NODE)
for _ in $(seq 100); do [ "$("${TSH_SSH[@]}" echo ok 2>/dev/null)" = ok ] && break; sleep 0.1; done
[ "$("${TSH_SSH[@]}" echo ok)" = ok ] || { echo "tsh ssh --cluster does not work" >&2; exit 1; }

# --- Legitimate operations, each appended to FILE as "OP OK MS".
timed() { # FILE OP COMMAND...
  local file=$1 op=$2; shift 2
  local t0 ok=1
  t0=$(date +%s%N)
  timeout 30 "$@" > /dev/null 2>> "$WORK/legit.err" || ok=0
  echo "$op $ok $((($(date +%s%N) - t0) / 1000000))" >> "$file"
}
# The leaf tunnel reconnect: disable the trust, wait for the leaf offline, enable it, time from
# the enable to the leaf `online` in `tsh clusters` (30 s at most).
toggle() { # FILE
  local t0 ok=0 i
  echo "$(date +%T) toggle" >> "$WORK/legit.err"
  if timeout 30 "$BIN/tctl" --data-dir "$WORK/leaf" create --force "$WORK/tc-off.yaml" > /dev/null 2>> "$WORK/legit.err"; then
    for i in $(seq 150); do [ "$(leaf_status)" = offline ] && break; sleep 0.1; done
    t0=$(date +%s%N)
    if timeout 30 "$BIN/tctl" --data-dir "$WORK/leaf" create --force "$WORK/tc-on.yaml" > /dev/null 2>> "$WORK/legit.err"; then
      while (($(date +%s%N) - t0 < 30000000000)); do
        if leaf_online; then ok=1; break; fi
        sleep 0.05
      done
    fi
  else
    t0=$(date +%s%N)
    # Leave the trust enabled whatever happened.
    "$BIN/tctl" --data-dir "$WORK/leaf" create --force "$WORK/tc-on.yaml" > /dev/null 2>&1 || true
  fi
  echo "tunnel-reconnect $ok $((($(date +%s%N) - t0) / 1000000))" >> "$1"
}
round() { # FILE N
  timed "$1" tsh-ssh "${TSH_SSH[@]}" true
  timed "$1" tsh-ls "$BIN/tsh" ls
  timed "$1" tsh-ls-leaf "$BIN/tsh" ls --cluster=$LEAF
  timed "$1" tctl-get-rc "$BIN/tctl" --data-dir "$WORK/root" get rc
  if (($2 % TOGGLE_EVERY == 0)); then toggle "$1"; fi
}

# fds PID: open file descriptors.
fds() { ls "/proc/$1/fd" 2> /dev/null | wc -l; }
fd_line() { echo "$(date +%s.%N) $(fds $ROOT_PID) $(fds $LEAF_PID) $(fds $NODE_PID)"; }

echo "== baseline: $BASELINE_ROUNDS rounds without a flood" >&2
for n in $(seq 1 "$BASELINE_ROUNDS"); do round "$WORK/quiet.txt" "$n"; done
for _ in $(seq 5); do fd_line >> "$WORK/fd-baseline.txt"; sleep 0.5; done
BASE=$(python3 -c '
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
print(" ".join(str(int(statistics.median(int(r[i]) for r in rows))) for i in (1, 2, 3)))' "$WORK/fd-baseline.txt")
echo "fd baseline (root leaf node): $BASE" >&2

# fd sampler, every 0.5 s, from just before the flood until after it.
(while :; do fd_line; sleep 0.5; done) > "$WORK/fd-during.txt" &
SAMPLER=$!
PIDS+=("$SAMPLER")

TARGETS=(--target "root web=$R_WEB=tls" --target "root auth API=$R_AUTH=tls" --target "root SSH proxy=$R_SSH=ssh"
  --target "root tunnel=$R_TUN=ssh" --target "leaf web=$L_WEB=tls" --target "leaf auth API=$L_AUTH=tls"
  --target "leaf SSH proxy=$L_SSH=ssh" --target "leaf tunnel=$L_TUN=ssh" --target "leaf node=$N_SSH=ssh")
echo "== flood: ${FLOOD_SECS}s, 9 listeners, 8 sources, $PER_SOURCE workers per listener and source" >&2
FLOOD_T0=$(date +%s)
echo "$(date +%T) flood starts" >> "$WORK/legit.err"
"$BIN/flood" "${TARGETS[@]}" --sources 2-9 --per-source "$PER_SOURCE" --duration "$FLOOD_SECS" \
  --ssh-deadline $SSH_GRACE --tls-deadline $WEB_GRACE --slack $SLACK --give-up 20 --max-conns "${MAX_CONNS:-500000}" \
  --json "$WORK/flood.json" > "$WORK/flood.md" &
FLOOD_PID=$!
PIDS+=("$FLOOD_PID")
# The same flood at the leaf node from 127.0.0.1, the address the leaf's proxy (and every user
# here) dials from: relayed users are counted by their own (signed) address, apart from it.
"$BIN/flood" --target "leaf node from 127.0.0.1=$N_SSH=ssh" --sources 1-1 --per-source "$PER_SOURCE" \
  --duration "$FLOOD_SECS" --ssh-deadline $SSH_GRACE --tls-deadline $WEB_GRACE --slack $SLACK --give-up 20 \
  --max-conns "${MAX_CONNS:-500000}" --json "$WORK/flood-local.json" > "$WORK/flood-local.md" &
LOCAL_PID=$!
PIDS+=("$LOCAL_PID")
# Let the pressure build, then time legitimate operations until the flood stops opening sockets.
sleep 5
LOOP_T0=$(date +%s)
n=0
while (($(date +%s) < FLOOD_T0 + FLOOD_SECS)); do
  n=$((n + 1))
  round "$WORK/flood.txt" "$n"
done
LOOP_T1=$(date +%s)
echo "== $n rounds timed during the flood ($((LOOP_T1 - LOOP_T0)) s); waiting for the flood's sockets to close" >&2
wait "$FLOOD_PID" || { echo "the flood generator failed" >&2; exit 1; }
wait "$LOCAL_PID" || { echo "the flood generator from 127.0.0.1 failed" >&2; exit 1; }
FLOOD_T1=$(date +%s)

# After: the daemons' descriptors back to the baseline (within 60 s)?
read -r B_ROOT B_LEAF B_NODE <<< "$BASE"
BACK_AFTER=none
for i in $(seq 120); do
  line=$(fd_line)
  read -r _ A_ROOT A_LEAF A_NODE <<< "$line"
  if ((A_ROOT <= B_ROOT && A_LEAF <= B_LEAF && A_NODE <= B_NODE)); then BACK_AFTER=$(python3 -c "print(f'{$i * 0.5:.1f}')"); break; fi
  sleep 0.5
done
kill "$SAMPLER" 2> /dev/null || true
wait "$SAMPLER" 2> /dev/null || true
AFTER="$A_ROOT $A_LEAF $A_NODE"
echo "fd after (root leaf node): $AFTER (back to baseline ${BACK_AFTER} s after the flood's last socket)" >&2
# Still working after the flood?
"${TSH_SSH[@]}" true || echo "tsh ssh fails after the flood" >&2

REPORT=$(python3 - "$WORK" "$BASE" "$AFTER" "$BACK_AFTER" "$FLOOD_SECS" "$PER_SOURCE" "$SSH_GRACE" "$WEB_GRACE" "$SLACK" \
  "$((FLOOD_T1 - FLOOD_T0))" "$((LOOP_T1 - LOOP_T0))" "$n" "$BASELINE_ROUNDS" "$TOGGLE_EVERY" <<'PY'
import json, sys
(work, base, after, back, secs, per_source, ssh_grace, web_grace, slack, flood_wall, loop_secs, rounds,
 base_rounds, toggle_every) = sys.argv[1:]
base = [int(x) for x in base.split()]; after = [int(x) for x in after.split()]
flood = json.load(open(f"{work}/flood.json"))
table = open(f"{work}/flood.md").read().strip()
local_flood = json.load(open(f"{work}/flood-local.json"))
local_table = open(f"{work}/flood-local.md").read().strip()

def ops(path):
    out = {}
    for line in open(path):
        op, ok, ms = line.split()
        out.setdefault(op, []).append((ok == "1", int(ms)))
    return out

def q(sorted_ms, p):
    return sorted_ms[min(len(sorted_ms) - 1, round((len(sorted_ms) - 1) * p))] if sorted_ms else 0

quiet, loud = ops(f"{work}/quiet.txt"), ops(f"{work}/flood.txt")
names = {"tsh-ssh": "`tsh ssh --cluster=leaf.flood visitor@leaf-node true`", "tsh-ls": "`tsh ls` (root)",
         "tsh-ls-leaf": "`tsh ls --cluster=leaf.flood`", "tctl-get-rc": "`tctl get rc` (root)",
         "tunnel-reconnect": "leaf tunnel reconnect (trust enabled → leaf `online` in `tsh clusters`)"}
rows, all_ok, all_fast = [], True, True
for op, label in names.items():
    q_ms = sorted(ms for ok, ms in quiet.get(op, []) if ok)
    q_n = len(quiet.get(op, []))
    runs = loud.get(op, [])
    ok_ms = sorted(ms for ok, ms in runs if ok)
    all_ms = sorted(ms for _, ms in runs)
    good = sum(1 for ok, _ in runs if ok)
    rate = 100.0 * good / len(runs) if runs else 0.0
    p99 = q(ok_ms, 0.99)
    all_ok &= bool(runs) and good == len(runs)
    all_fast &= p99 < 1000
    rows.append(f"| {label} | {q(q_ms, 0.5)} / {q(q_ms, 0.99)} ms ({len(q_ms)}/{q_n} ok) | {good}/{len(runs)} ({rate:.1f} %) | "
                f"{q(ok_ms, 0.5)} ms | {p99} ms | {all_ms[-1] if all_ms else 0} ms |")
f = flood
fd_during = [l.split() for l in open(f"{work}/fd-during.txt")]
peak = [max(int(r[i]) for r in fd_during) for i in (1, 2, 3)] if fd_during else [0, 0, 0]
closed_ok = f["late"] == 0 and f["not_closed"] == 0
fd_ok = all(a <= b for a, b in zip(after, base))
verdict = lambda ok: "**met**" if ok else "**missed**"
legit_n = sum(len(v) for v in loud.values())
import re, collections
why = collections.Counter(re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", l.strip())
                          for l in open(f"{work}/legit.err").read().split("flood starts", 1)[-1].splitlines()
                          if l.strip() and not re.match(r"\d\d:\d\d:\d\d ", l))
why_rows = "\n".join(f"| {n} | `{m}` |" for m, n in why.most_common(12)) or "| 0 | (none) |"
legit_ok = sum(1 for v in loud.values() for ok, _ in v if ok)
print(f"""Parameters: `FLOOD_SECS={secs} PER_SOURCE={per_source} bench/flood.sh --write`. A root, a leaf (auth + proxy,
`--insecure`) and a leaf node (its own daemon), release build, all on 127.0.0.1 with fixed ports.
Connection limits are the defaults (`max_unauthenticated_per_source: 64`, `max_startups: 128:30:1024`,
`max_connections: 16384`) except **`login_grace_time: {ssh_grace}s`** (default 30 s) and
**`web_request_timeout: {web_grace}s`** (default 10 s), shortened so the run is bounded in time.
The flood (`bench/src/bin/flood.rs`): 9 listeners × 8 source addresses (127.0.0.2 … 127.0.0.9, bound
before connect) × {per_source} workers = {f['workers']} concurrent hostile clients for {secs} s, each re-opening as soon
as the server closes its socket (100–300 ms pause after a socket shed at accept), on the same two cores
as the daemons; half silent, half
`SSH-2.0-x\\r\\n` then stall (SSH ports) or slowloris (HTTPS ports: full TLS handshake, then one byte of a
request head per second). Legitimate operations from 127.0.0.1 in a sequential loop for {loop_secs} s of the
flood ({rounds} rounds, a tunnel reconnect every {toggle_every} rounds); the quiet reference is {base_rounds} rounds
before the flood. Latency percentiles are over successful runs; "worst" includes failures (30 s cap).

| operation | quiet p50 / p99 | succeeded during the flood | p50 | p99 | worst |
|---|---|---|---|---|---|
""" + "\n".join(rows) + f"""

Why legitimate operations failed during the flood (their stderr, by message):

| count | message |
|---|---|
""" + why_rows + f"""

Flood sockets ({f['sockets']} opened in {flood_wall} s, wall time including the drain; "held" = closed by the
server ≥ 1 s after connecting, i.e. admitted and closed at its deadline; "last byte" = the connect for
silent sockets, the banner, or the last dribbled byte):

{table}

And at once, {per_source} more workers flood the leaf node from 127.0.0.1, the address the leaf's proxy
and the legitimate client dial from ({local_flood['sockets']} sockets):

{local_table}

| daemon | open fds: baseline | peak during the flood | after |
|---|---|---|---|
| root | {base[0]} | {peak[0]} | {after[0]} |
| leaf | {base[1]} | {peak[1]} | {after[1]} |
| leaf node | {base[2]} | {peak[2]} | {after[2]} |

Back at or below the baseline {back} s after the flood's last socket closed (`none`: not within 60 s).

| target | measured | verdict |
|---|---|---|
| 100 % of legitimate operations succeed during the flood | {legit_ok}/{legit_n} | {verdict(all_ok)} |
| p99 < 1 s for each operation during the flood | see p99 column | {verdict(all_fast)} |
| every flood socket closed by the server within deadline + {slack} s of its last byte | {f['late']} late, {f['not_closed']} not closed, worst {f['worst_last_byte_to_close_s']:.2f} s (of {f['sockets']}) | {verdict(closed_ok)} |
| open fds back to baseline after the flood | root {after[0]}/{base[0]}, leaf {after[1]}/{base[1]}, node {after[2]}/{base[2]} | {verdict(fd_ok)} |""")
PY
)
MACHINE="$(nproc) cores ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)), $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), Linux $(uname -r)"
REPORT="Measured by \`bench/flood.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'), $MACHINE.

$REPORT"
echo "$REPORT"
echo "failures of legitimate operations (stderr, first 40 lines):" >&2
grep -v ' toggle$' "$WORK/legit.err" | sort | uniq -c | sort -rn | head -40 >&2 || true
mkdir -p "${FLOOD_OUT:=/tmp/flood-last}" && cp "$WORK"/{legit.err,quiet.txt,flood.txt,flood.md,flood.json,flood-local.md,flood-local.json,fd-during.txt,root.log,leaf.log,node.log} "$FLOOD_OUT/" 2> /dev/null || true
if [[ ${1:-} == --write ]]; then
  write_section "Under a flood (bench/flood.sh)" "$REPORT"
fi
