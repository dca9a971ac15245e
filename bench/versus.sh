#!/usr/bin/env bash
# Tether against OpenSSH, a fair fight in one run on this machine's loopback (release build):
#   - both sides log in as the same bench user (`tbench`, created here and removed at exit, with
#     Debian's skeleton rc files), so both run the same ~/.bashrc; Tether's node sets SSH_CLIENT
#     and SSH_CONNECTION like sshd, so bash treats both sessions alike;
#   - OpenSSH is tuned (curve25519-sha256, AES-GCM, no GSSAPI, ed25519 host keys) and is also
#     measured reusing an open ControlMaster connection, what a power user runs; OpenSSH with its
#     defaults stays as a reference row;
#   - cases are interleaved (A B A B …, bench/pairs.py) and ratios taken pair by pair.
# Cases: `true` through the trusted path (tsh → root proxy → tunnel → leaf proxy → node) and
# inside one cluster (tsh → proxy → node); 1 GiB into `cat > /dev/null` on both; OpenSSH through
# `tsh proxy ssh` (what `tsh config` sets up); `tsh ls`, `tsh clusters`, `tctl get rc`; then
# TUNNELS idle leaf tunnels on one root (bench/src/bin/tunnels.rs). With --write, replaces the
# "Tether versus OpenSSH" and "Leaf tunnels on one root" sections of bench/RESULTS.md.
#
# Knobs: RUNS (latency rounds, 30), RUNS_BIG (transfer rounds, 5), BYTES (1 GiB), TUNNELS
# (10000, 0 to skip), BENCH_BIN (measure prebuilt binaries in that directory).
# Needs: OpenSSH client and server, python3, root (useradd, and the node switches to tbench).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
TUNNELS=${TUNNELS:-10000}
RUNS_BIG=${RUNS_BIG:-5}
BENCH_USER=tbench
bench_setup --bin tether --bin tctl --bin tsh --bin tunnels

# The bench login, with a home that both servers start its shell in.
chmod a+rx "$WORK"
CREATED_USER=
if ! id "$BENCH_USER" > /dev/null 2>&1; then
  # Password "*": no password login, but not a locked account (sshd refuses those).
  useradd -M -d "$WORK/home" -s /bin/bash -p '*' "$BENCH_USER"
  CREATED_USER=$BENCH_USER
else
  usermod -d "$WORK/home" -p '*' "$BENCH_USER"
fi
cp -r /etc/skel "$WORK/home"
chown -R "$BENCH_USER:" "$WORK/home"
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; [[ -n $CREATED_USER ]] && userdel "$CREATED_USER" 2>/dev/null; rm -rf "$WORK"' EXIT

# Tether: a root with a node (root-proxy), a leaf with a node (leaf-node), joined.
trusted_pair root.bench leaf.bench bench "root,$BENCH_USER" node
start_openssh

BASE="-F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -i $WORK/ssh/user_key"
TUNE=$OPENSSH_TUNE
SSH_T="ssh $BASE $TUNE -o HostKeyAlgorithms=ssh-ed25519"
SSH_D="ssh $BASE"
TARGET="-p $PORT $BENCH_USER@127.0.0.1"
JUMP_T="$SSH_T -o 'ProxyCommand=$SSH_T -W %h:%p $TARGET' $TARGET"
JUMP_D="$SSH_D -o 'ProxyCommand=$SSH_D -W %h:%p $TARGET' $TARGET"
# ControlMaster: one tuned master connection held open; each run is a new session on it.
$SSH_T -M -S "$WORK/cm" -o ControlPersist=yes -f -N $TARGET
CM="$SSH_T -S $WORK/cm -o ControlMaster=no $TARGET"
# OpenSSH through `tsh proxy ssh`, configured by `tsh config` (tuned the same way).
"$BIN/tsh" config > "$WORK/tsh_ssh_config"
VIA_TSH="ssh -F $WORK/tsh_ssh_config -o BatchMode=yes -o LogLevel=ERROR $TUNE $BENCH_USER@root-proxy.root.bench"
TSH_LEAF="$BIN/tsh ssh --cluster=leaf.bench $BENCH_USER@leaf-node"
TSH_ROOT="$BIN/tsh ssh $BENCH_USER@root-proxy"

for c in "$TSH_LEAF" "$TSH_ROOT" "$CM" "$JUMP_T" "$JUMP_D" "$VIA_TSH"; do
  out=$(bash -c "$c 'echo \$USER \${SSH_CLIENT:+ssh_client_set}'")
  [ "${out%% *}" = "$BENCH_USER" ] || { echo "this path does not work: $c → $out" >&2; exit 1; }
  [ "$out" = "$BENCH_USER ssh_client_set" ] || echo "warning: SSH_CLIENT is not set on this path, not a fair comparison: $c" >&2
done

LAT=$WORK/latency.json
TPUT=$WORK/throughput.json
python3 bench/pairs.py latency "$LAT" "$RUNS" \
  "tsh_leaf=$TSH_LEAF true" "tsh_root=$TSH_ROOT true" "cm=$CM true" "jump_tuned=$JUMP_T true" \
  "jump_default=$JUMP_D true" "direct_tuned=$SSH_T $TARGET true" "via_tsh=$VIA_TSH true" \
  "tsh_ls=$BIN/tsh ls" "tsh_clusters=$BIN/tsh clusters" "tctl_get_rc=$BIN/tctl --data-dir $WORK/root get rc"
python3 bench/pairs.py throughput "$TPUT" "$RUNS_BIG" "$BYTES" \
  "tsh_leaf=$TSH_LEAF 'cat > /dev/null'" "tsh_root=$TSH_ROOT 'cat > /dev/null'" \
  "jump_tuned=$JUMP_T 'cat > /dev/null'" "via_tsh=$VIA_TSH 'cat > /dev/null'" \
  "jump_default=$JUMP_D 'cat > /dev/null'"
$SSH_T -S "$WORK/cm" -O exit $TARGET 2> /dev/null || true

TABLE=$(python3 - "$LAT" "$TPUT" "$RUNS" "$RUNS_BIG" "$BYTES" <<'PY'
import json, statistics, sys
lat, tput = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
runs, runs_big, n = sys.argv[3], sys.argv[4], int(sys.argv[5])
def med(xs): return statistics.median(xs)
def p90(xs): return sorted(xs)[max(0, int(round(0.9 * len(xs))) - 1)]
def pair(d, a, b): return med([x / y for x, y in zip(d[a], d[b])])
names = {
    "tsh_leaf": "`tsh ssh --cluster=leaf` (tsh → root proxy → tunnel → leaf proxy → node)",
    "tsh_root": "`tsh ssh` inside one cluster (tsh → proxy → node)",
    "cm": "OpenSSH, tuned, reusing an open ControlMaster connection (`ssh -S`)",
    "jump_tuned": "OpenSSH, tuned, one jump (ProxyCommand `ssh -W`)",
    "jump_default": "OpenSSH with its defaults, one jump (reference)",
    "direct_tuned": "OpenSSH, tuned, direct (no jump)",
    "via_tsh": "OpenSSH (tuned) through `tsh proxy ssh`, as `tsh config` sets it up",
    "tsh_ls": "`tsh ls`", "tsh_clusters": "`tsh clusters`", "tctl_get_rc": "`tctl get rc`",
}
out = [f"Latency of `true` (and of the API commands), {runs} interleaved rounds:", "",
       "| case | median | p90 | ÷ ControlMaster (pairwise median) | ÷ tuned `ssh -J` |", "|---|---|---|---|---|"]
for k in ["tsh_leaf", "tsh_root", "cm", "jump_tuned", "jump_default", "direct_tuned", "via_tsh"]:
    out.append(f"| {names[k]} | {med(lat[k]):.1f} ms | {p90(lat[k]):.1f} ms | {pair(lat, k, 'cm'):.2f}× | {pair(lat, k, 'jump_tuned'):.3f}× |")
for k in ["tsh_ls", "tsh_clusters", "tctl_get_rc"]:
    out.append(f"| {names[k]} | {med(lat[k]):.1f} ms | {p90(lat[k]):.1f} ms | | |")
out += ["", f"Throughput, {n // 1048576} MiB into `cat > /dev/null`, {runs_big} interleaved rounds:", "",
        "| case | median | ÷ tuned `ssh -J` (pairwise median) |", "|---|---|---|"]
for k in ["tsh_leaf", "tsh_root", "jump_tuned", "via_tsh", "jump_default"]:
    out.append(f"| {names[k]} | {med(tput[k]):.0f} MB/s | {pair(tput, k, 'jump_tuned'):.2f}× |")
checks = [
    ("trusted path `true` ÷ ControlMaster reuse", pair(lat, "tsh_leaf", "cm"), "≤ 1.0× (stretch 0.7×)", lambda r: r <= 1.0),
    ("trusted path `true` ÷ tuned `ssh -J`", pair(lat, "tsh_leaf", "jump_tuned"), "≤ 0.1×", lambda r: r <= 0.1),
    ("one cluster `true` ÷ ControlMaster reuse", pair(lat, "tsh_root", "cm"), "≤ 0.8×", lambda r: r <= 0.8),
    ("trusted path 1 GiB ÷ tuned `ssh -J`", pair(tput, "tsh_leaf", "jump_tuned"), "≥ 1.5×", lambda r: r >= 1.5),
    ("one cluster 1 GiB ÷ tuned `ssh -J`", pair(tput, "tsh_root", "jump_tuned"), "≥ 2×", lambda r: r >= 2.0),
    ("OpenSSH through `tsh proxy ssh` ÷ `tsh ssh` (1 GiB, one cluster)", pair(tput, "via_tsh", "tsh_root"), "≥ 0.9×", lambda r: r >= 0.9),
]
for k in ["tsh_ls", "tsh_clusters", "tctl_get_rc"]:
    checks.append((f"{names[k]} median", med(lat[k]), "≤ 10 ms", lambda r: r <= 10))
    checks.append((f"{names[k]} p90 ÷ median", p90(lat[k]) / med(lat[k]), "≤ 2×", lambda r: r <= 2))
out += ["", "| target | this run | goal | met |", "|---|---|---|---|"]
for what, value, goal, ok in checks:
    unit = " ms" if "median" in what and "÷" not in what else "×"
    out.append(f"| {what} | {value:.2f}{unit} | {goal} | {'yes' if ok(value) else '**no**'} |")
print("\n".join(out))
PY
)
echo "$TABLE"
echo
TUNNEL_TABLE=
if [[ $TUNNELS -gt 0 ]]; then
  TUNNEL_TABLE=$("$BIN/tunnels" --bin "$BIN" --n "$TUNNELS")
  echo "$TUNNEL_TABLE"
fi
if [[ ${1:-} == --write ]]; then
  write_section "Tether versus OpenSSH" "Measured by \`bench/versus.sh --write\` (RUNS=$RUNS, RUNS_BIG=$RUNS_BIG) on $(date -u '+%Y-%m-%d %H:%M') UTC,
$(nproc) cores, release build, all on loopback. Both sides log in as the same user with the same
rc files (Tether's node sets \`SSH_CLIENT\`/\`SSH_CONNECTION\` like sshd, so bash sources
\`~/.bashrc\` on both); OpenSSH is tuned: \`-o KexAlgorithms=curve25519-sha256 -o
Ciphers=aes128-gcm@openssh.com,aes256-gcm@openssh.com -o GSSAPIAuthentication=no -o
HostKeyAlgorithms=ssh-ed25519\`. Every case runs once per round, in turn (A B A B), and each
ratio is the median of the round-by-round ratios.

$TABLE"
  if [[ -n $TUNNEL_TABLE ]]; then
    write_section "Leaf tunnels on one root" "Measured by \`bench/versus.sh\` (\`bench/src/bin/tunnels.rs\`): a real release \`tether\` root,
N leaves registered through the real validate endpoint, and N lightweight agents (tokio tasks in
one process speaking the tunnel protocol: host-certificate login, control subsystem, heartbeats
every 5 s). Memory is the root's resident set (VmRSS) with N idle tunnels minus before any.
Targets: ≤ 48 KiB of root memory per idle tunnel, all online in ≤ 10 s.

$TUNNEL_TABLE"
  fi
fi
