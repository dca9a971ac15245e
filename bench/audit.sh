#!/usr/bin/env bash
# Reading a big audit log: writes a synthetic events.log of SIZE bytes (default 1 GiB, by
# bench/src/bin/auditlog.rs: times spread over the last 30 days, ending a minute ago) into a
# fresh data dir, starts a real tether daemon on it, and times `tctl audit ls` RUNS times per
# case: wall time (median and max), tctl's max RSS (/usr/bin/time), and the daemon's peak RSS
# during the runs (VmHWM in /proc, reset before each case through /proc/PID/clear_refs; needs
# root or the daemon's owner). Cases: `--limit 100` and `--limit 10000` on the 1 GiB live file,
# `--since 1h --limit 100`, `--since 1m` (no event that recent: the scan stops at the first
# line); then one event makes the daemon rotate (the default rotation size is 64 MiB), so the
# 1 GiB file becomes events.log.1 and `--limit 100` reads across both files.
#
# RUNS (default 30, from common.sh) runs per case. BASELINE_BIN=DIR (a release build of an
# earlier tether and tctl, e.g. before the backward reader; BASELINE_NAME names it) also times
# that daemon's whole-file listing on a BASELINE_SIZE log (default 100 MB; the old reader holds
# the whole log in memory several times over). With --write, updates bench/RESULTS.md.
#
# Needs: python3, /usr/bin/time, about SIZE bytes free under TMPDIR.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
SIZE=${SIZE:-1073741824}
BASELINE_SIZE=${BASELINE_SIZE:-100000000}
BASELINE_RUNS=${BASELINE_RUNS:-3}

cargo build --release --quiet --bin tether --bin tctl --bin auditlog
BIN=${CARGO_TARGET_DIR:-$PWD/target}/release
WORK=$(mktemp -d)
DAEMON=""
trap '[[ -n $DAEMON ]] && kill "$DAEMON" 2>/dev/null; rm -rf "$WORK"' EXIT

# start_daemon TETHER_BINARY DIR: a daemon on DIR/data (config DIR/tether.yaml); sets DAEMON.
start_daemon() {
  "$1" start -c "$2/tether.yaml" > "$2/tether.out" 2> "$2/tether.log" &
  DAEMON=$!
  for _ in $(seq 300); do grep -q "tunnel listening" "$2/tether.out" 2>/dev/null && return; sleep 0.1; done
  echo "tether did not start:" >&2; cat "$2/tether.log" >&2; exit 1
}
stop_daemon() { kill "$DAEMON"; wait "$DAEMON" 2>/dev/null || true; DAEMON=""; }

# generate DIR BYTES: a config and a synthetic log in DIR; prints what the generator said.
generate() {
  tether_yaml audit-bench "$1/data" audit.bench 127.0.0.1:0 127.0.0.1:0 127.0.0.1:0 > "$1/tether.yaml"
  "$BIN/auditlog" --out "$1/data/log/events.log" --bytes "$2" --cluster audit.bench
}

kib() { awk '/^'"$1"':/ {print $2}' "/proc/$DAEMON/status"; }

# measure RUNS LABEL TCTL ARGS...: RUNS runs of TCTL ARGS (JSON output); prints a table row.
measure() {
  local runs=$1 label=$2; shift 2
  local idle
  idle=$(kib VmRSS)
  echo 5 > "/proc/$DAEMON/clear_refs"
  python3 - "$runs" "$WORK/time.txt" "$label" "$idle" "$DAEMON" "$@" <<'PY'
import json, statistics, subprocess, sys, time
runs, timefile, label, idle, pid = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
cmd = sys.argv[6:]
walls, rss, counts = [], [], set()
for _ in range(runs):
    t = time.perf_counter()
    out = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", timefile, *cmd], check=True, capture_output=True, text=True).stdout
    walls.append((time.perf_counter() - t) * 1000)
    rss.append(int(open(timefile).read().split()[-1]))
    counts.add(len(json.loads(out)))
hwm = next(int(l.split()[1]) for l in open(f"/proc/{pid}/status") if l.startswith("VmHWM:"))
n = "/".join(str(c) for c in sorted(counts))
print(f"| {label} | {n} | {statistics.median(walls):.1f} ms | {min(walls):.1f} ms | {max(walls):.1f} ms "
      f"| {max(rss) / 1024:.1f} MiB | {hwm / 1024:.1f} MiB (idle {idle / 1024:.1f} MiB) |")
PY
}

HEADER="| case | events returned | tctl wall, median | min | max | tctl max RSS | daemon peak RSS during the runs |
|---|---|---|---|---|---|---|"
ROWS=()
mkdir -p "$WORK/new"
GEN_START=$(date +%s.%N)
GENERATED=$(generate "$WORK/new" "$SIZE")
GEN_SECS=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$GEN_START" "$(date +%s.%N)")
echo "generated: $GENERATED in ${GEN_SECS} s" >&2
start_daemon "$BIN/tether" "$WORK/new"
TCTL=("$BIN/tctl" --data-dir "$WORK/new/data" audit ls --format=json)
MIB=$((SIZE / 1048576))
ROWS+=("$(measure "$RUNS" "reference: \`tctl get role --format=json\` (3 roles)" "$BIN/tctl" --data-dir "$WORK/new/data" get role --format=json)")
ROWS+=("$(measure "$RUNS" "\`--limit 100\`, $MIB MiB events.log" "${TCTL[@]}" --limit 100)")
ROWS+=("$(measure "$RUNS" "\`--limit 10000\`, $MIB MiB events.log" "${TCTL[@]}" --limit 10000)")
ROWS+=("$(measure "$RUNS" "\`--since 1h --limit 100\`" "${TCTL[@]}" --since 1h --limit 100)")
ROWS+=("$(measure "$RUNS" "\`--since 1m\` (nothing that recent)" "${TCTL[@]}" --since 1m)")
# One event: the live file is past 64 MiB, so the writer rotates it to events.log.1 first.
"$BIN/tctl" --data-dir "$WORK/new/data" tokens add --type=node > /dev/null
for _ in $(seq 300); do [[ -e $WORK/new/data/log/events.log.1 ]] && break; sleep 0.1; done
LIVE=$(stat -c %s "$WORK/new/data/log/events.log")
ROTATED=$(stat -c %s "$WORK/new/data/log/events.log.1")
ROWS+=("$(measure "$RUNS" "\`--limit 100\` after rotation (events.log $LIVE B, events.log.1 $MIB MiB)" "${TCTL[@]}" --limit 100)")
stop_daemon

BASELINE=""
if [[ -n ${BASELINE_BIN:-} ]]; then
  mkdir -p "$WORK/old"
  BASE_GENERATED=$(generate "$WORK/old" "$BASELINE_SIZE")
  start_daemon "$BASELINE_BIN/tether" "$WORK/old"
  BASELINE=$(measure "$BASELINE_RUNS" "baseline ${BASELINE_NAME:-$BASELINE_BIN}: \`audit ls\`, whole $((BASELINE_SIZE / 1000000)) MB log ($BASE_GENERATED)" \
    "$BASELINE_BIN/tctl" --data-dir "$WORK/old/data" audit ls --format=json)
  stop_daemon
fi

TABLE=$(printf '%s\n' "$HEADER" "${ROWS[@]}" ${BASELINE:+"$BASELINE"})
echo "$TABLE"
echo "events.log: $LIVE bytes; events.log.1: $ROTATED bytes" >&2

if [[ ${1:-} == --write ]]; then
  write_section "Audit log reads" "Measured by \`bench/audit.sh\` (release build, RUNS=$RUNS): \`auditlog\` wrote the
synthetic log ($GENERATED, in $GEN_SECS s), then a real daemon answered \`tctl audit ls --format=json\`
on it. \"daemon peak RSS\" is the daemon's VmHWM after a reset before the case, so it covers those
runs only (memory the allocator kept from an earlier case shows as idle); the tctl figures
include process start, TLS and printing the JSON. Every API call here, the reference
\`tctl get role\` included, takes either about 8 ms or about 48 ms: the second mode is a ~40 ms
delayed-ACK stall (the web listener does not set TCP_NODELAY), not the reader, so the min column
shows the reader's cost best.

$TABLE

The reader walks the files backwards from their ends in 64 KiB chunks and stops at the limit, or
at an event older than \`since\`, so the cost follows the number of events asked for, not the
size of the log: the target was \`--limit 100\` on a 1 GiB log well under 1 s and 50 MB. The
baseline row, when present, is the reader before (the whole file parsed on every call), on a
log a tenth of the size."
fi
