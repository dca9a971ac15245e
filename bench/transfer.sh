#!/usr/bin/env bash
# Moving data on the trusted path, with real processes: a root, a leaf (auth + proxy + node)
# joined through its tunnel, and a root user. Side by side in one run against OpenSSH with one
# jump (ProxyCommand ssh -W; scp the same way), on a file of MIB MiB of random bytes:
#   - echo: the file through `cat` on the node and back (both directions at once), every byte
#     counted;
#   - copy: `tsh scp` up and down against OpenSSH `scp` (SFTP mode) up and down, checked with cmp.
# Each figure is the median of RUNS_BIG runs. With --write, updates bench/RESULTS.md.
#
# Needs: OpenSSH client and server, python3, root.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
MIB=${MIB:-1024}
RUNS_BIG=${RUNS_BIG:-3}
bench_setup --bin tether --bin tctl --bin tsh

trusted_pair root.bench leaf.bench bench
start_openssh
JUMP="ProxyCommand=ssh ${SSH_OPTS[*]} -W %h:%p -p $PORT root@127.0.0.1"
[ "$(ssh "${SSH_OPTS[@]}" -o "$JUMP" -p "$PORT" root@127.0.0.1 echo ok)" = ok ] || { echo "ssh with a jump does not work" >&2; exit 1; }

FILE=$WORK/data.bin
head -c "${MIB}M" /dev/urandom > "$FILE"
BYTES=$((MIB * 1048576))

# mbs COMMAND...: runs COMMAND RUNS_BIG times, prints the median MB/s of BYTES.
mbs() {
  python3 - "$RUNS_BIG" "$BYTES" "$@" <<'PY'
import statistics, subprocess, sys, time
runs, n, cmd = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
rates = []
for _ in range(runs):
    t = time.perf_counter()
    subprocess.run(["bash", "-c", cmd[0]], check=True)
    rates.append(n / (time.perf_counter() - t) / 1e6)
print(f"{statistics.median(rates):.0f}")
PY
}

# echo_check COUNT_FILE: fails unless the echo brought back every byte.
echo_check() { [ "$(cat "$1")" = "$BYTES" ] || { echo "echo lost bytes: $(cat "$1") of $BYTES" >&2; exit 1; }; }
TSH="$BIN/tsh"
TSH_ECHO=$(mbs "$TSH ssh --cluster=leaf.bench root@leaf-node cat < $FILE | wc -c > $WORK/n-tsh")
echo_check "$WORK/n-tsh"
SSH_ECHO=$(mbs "ssh ${SSH_OPTS[*]} -o '$JUMP' -p $PORT root@127.0.0.1 cat < $FILE | wc -c > $WORK/n-ssh")
echo_check "$WORK/n-ssh"

TSH_UP=$(mbs "$TSH scp -q --cluster=leaf.bench $FILE root@leaf-node:$WORK/up-tsh.bin")
cmp "$FILE" "$WORK/up-tsh.bin"
TSH_DOWN=$(mbs "$TSH scp -q --cluster=leaf.bench root@leaf-node:$WORK/up-tsh.bin $WORK/down-tsh.bin")
cmp "$FILE" "$WORK/down-tsh.bin"
SCP=(scp -q "${SSH_OPTS[@]}" -o "'$JUMP'" -P "$PORT")
SSH_UP=$(mbs "${SCP[*]} $FILE root@127.0.0.1:$WORK/up-ssh.bin")
cmp "$FILE" "$WORK/up-ssh.bin"
SSH_DOWN=$(mbs "${SCP[*]} root@127.0.0.1:$WORK/up-ssh.bin $WORK/down-ssh.bin")
cmp "$FILE" "$WORK/down-ssh.bin"

ratio() { python3 -c "print(f'{$1/$2:.2f}×')"; }
TABLE=$(cat <<MD
| $MIB MiB of random bytes, median of $RUNS_BIG (MB/s) | echo through \`cat\` (both ways at once) | copy up | copy down |
|---|---|---|---|
| Tether: \`tsh ssh\` / \`tsh scp --cluster=leaf\` (tsh → root proxy → tunnel → leaf → node) | $TSH_ECHO | $TSH_UP | $TSH_DOWN |
| OpenSSH (tuned) with one jump: \`ssh\` / \`scp\` (SFTP) through \`ssh -W\` | $SSH_ECHO | $SSH_UP | $SSH_DOWN |
| ratio Tether / OpenSSH | $(ratio "$TSH_ECHO" "$SSH_ECHO") | $(ratio "$TSH_UP" "$SSH_UP") | $(ratio "$TSH_DOWN" "$SSH_DOWN") |
MD
)
echo "$TABLE"
if [[ ${1:-} == --write ]]; then
  write_section "Data transfer on the trusted path" "Measured by \`bench/transfer.sh\` on this machine's loopback, release build: a root, a leaf
(auth + proxy + node in one daemon) joined through its reverse tunnel, and OpenSSH (tuned:
\`$OPENSSH_TUNE\`) with one jump (sshd as both jump host and target) for comparison. Every echo is counted and every copy checked
with \`cmp\`.

$TABLE"
fi
