#!/usr/bin/env bash
# A burst of real logins from one client host: N (1,000) `tsh ssh --cluster=LEAF visitor@leaf-node
# true` started at once, release build, a root and a leaf (auth + proxy + node) on 127.0.0.1 with
# the DEFAULT connection limits. Every one of them reaches the root's relay and the leaf's node
# from 127.0.0.1, so past `max_unauthenticated_per_source` (64) they wait their turn (issue 22:
# slowed, not refused). Reports how many succeeded, and p50 / p99 / worst of each one's wall time
# (start to exit), and the failures by message. The login is `visitor` (created if missing), whose
# shell rc files are Debian's defaults: bash reads ~/.bashrc even for `bash -c` when SSH_CLIENT
# is set, and a heavy one (root's, on a developer machine) would measure the rc file, not Tether.
#
# Usage: bench/burst.sh [--write]   (--write replaces the "A burst of logins" section of
# bench/RESULTS.md). Tunables: N (1000), TIMEOUT (120 s per tsh, a cap for the run).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
N=${N:-1000}
TIMEOUT=${TIMEOUT:-120}
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

bench_setup --bin tether --bin tctl --bin tsh
id visitor > /dev/null 2>&1 || useradd --create-home visitor
trusted_pair root.burst leaf.burst bench root,visitor

RESULT=$(python3 - "$BIN/tsh" "$N" "$TIMEOUT" <<'PY'
import collections, re, subprocess, sys, threading, time
tsh, n, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
go = threading.Event()
results = [None] * n
def one(i):
    go.wait()
    t0 = time.monotonic()
    try:
        p = subprocess.run([tsh, "ssh", "--cluster=leaf.burst", "visitor@leaf-node", "true"], capture_output=True,
                           text=True, timeout=timeout)
        results[i] = (p.returncode == 0, time.monotonic() - t0, p.stderr.strip().splitlines()[-1:] or [""])
    except subprocess.TimeoutExpired:
        results[i] = (False, timeout, [f"no exit within {timeout:.0f} s"])
threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
for t in threads: t.start()
t0 = time.monotonic(); go.set()
for t in threads: t.join()
wall = time.monotonic() - t0
ok = sorted(r[1] for r in results if r[0])
alls = sorted(r[1] for r in results)
q = lambda xs, p: xs[min(len(xs) - 1, round((len(xs) - 1) * p))] if xs else 0
why = collections.Counter(re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", r[2][0]) for r in results if not r[0])
rows = "\n".join(f"| {c} | `{m}` |" for m, c in why.most_common(8)) or "| 0 | (none) |"
print(f"""| started at once | succeeded | p50 | p99 | worst | all done after |
|---|---|---|---|---|---|
| {n} | {len(ok)} | {q(ok, .5):.2f} s | {q(ok, .99):.2f} s | {alls[-1]:.2f} s | {wall:.1f} s |

Failures by message:

| count | message |
|---|---|
{rows}""")
PY
)
MACHINE="$(nproc) cores ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)), $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), Linux $(uname -r)"
REPORT="Measured by \`bench/burst.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'), $MACHINE: $N \`tsh ssh --cluster=leaf.burst visitor@leaf-node true\`
started at once from one host (127.0.0.1), through the root's relay, the tunnel and the leaf's
agent to the node, release build, default connection limits. Wall time of each, start to exit
(the client's own retries included).

$RESULT"
echo "$REPORT"
if [[ ${1:-} == --write ]]; then
  write_section "A burst of logins (bench/burst.sh)" "$REPORT"
fi
