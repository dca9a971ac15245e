#!/usr/bin/env bash
# Soak: SESSIONS (default 50,000) `tsh ssh --cluster=leaf node true` sessions, then LISTS
# (default 20,000) `tsh ls --cluster=leaf` calls, against a real release root and leaf (auth +
# proxy + node), reporting the root's and the leaf's resident memory (VmRSS) every EVERY (5,000)
# operations. After warm-up (the first EVERY) the target is flat memory: under 2 MB of growth
# over the rest of the run. Operations run CONCURRENCY (4) at a time; failures are counted.
# With --write, updates bench/RESULTS.md.
#
# Needs: root (the node runs sessions as root), python3.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
SESSIONS=${SESSIONS:-50000}
LISTS=${LISTS:-20000}
EVERY=${EVERY:-5000}
CONCURRENCY=${CONCURRENCY:-4}
bench_setup --bin tether --bin tctl --bin tsh

trusted_pair root.soak leaf.soak soak

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
ROWS=()
FAILED=0
sample() { ROWS+=("| $1 | $2 | $(( $(rss_kb "$ROOT_PID") / 1024 )).$(( $(rss_kb "$ROOT_PID") % 1024 * 10 / 1024 )) | $(( $(rss_kb "$LEAF_PID") / 1024 )).$(( $(rss_kb "$LEAF_PID") % 1024 * 10 / 1024 )) |"); echo "${ROWS[-1]}"; }
# run_batch N COMMAND...: N runs, CONCURRENCY at a time; adds the failures to FAILED.
run_batch() {
  local n=$1; shift
  local fails
  fails=$(seq "$n" | xargs -P "$CONCURRENCY" -I{} sh -c '"$@" > /dev/null 2>&1 || echo x' _ "$@" | wc -l)
  FAILED=$((FAILED + fails))
}
ROOT_START=$(rss_kb "$ROOT_PID"); LEAF_START=$(rss_kb "$LEAF_PID")
sample "sessions" 0
for done in $(seq "$EVERY" "$EVERY" "$SESSIONS"); do
  run_batch "$EVERY" "$BIN/tsh" ssh --cluster=leaf.soak root@leaf-node true
  sample "sessions" "$done"
  [[ $done == "$EVERY" ]] && { ROOT_WARM=$(rss_kb "$ROOT_PID"); LEAF_WARM=$(rss_kb "$LEAF_PID"); }
done
for done in $(seq "$EVERY" "$EVERY" "$LISTS"); do
  run_batch "$EVERY" "$BIN/tsh" ls --cluster=leaf.soak
  sample "tsh ls" "$done"
done
ROOT_END=$(rss_kb "$ROOT_PID"); LEAF_END=$(rss_kb "$LEAF_PID")
growth() { python3 -c "print(f'{($1 - $2) / 1024:+.1f} MB')"; }
TABLE=$(cat <<MD
| phase | operations | root RSS (MB) | leaf RSS (MB) |
|---|---|---|---|
$(printf '%s\n' "${ROWS[@]}")

Growth after warm-up (from $EVERY sessions to the end): root $(growth "$ROOT_END" "$ROOT_WARM"), leaf
$(growth "$LEAF_END" "$LEAF_WARM") (target: under 2 MB). From the start: root $(growth "$ROOT_END" "$ROOT_START"),
leaf $(growth "$LEAF_END" "$LEAF_START"). Failed operations: $FAILED of $((SESSIONS + LISTS)).
MD
)
echo "$TABLE"
if [[ ${1:-} == --write ]]; then
  write_section "Soak: memory over many sessions" "Measured by \`bench/soak.sh\` on this machine's loopback, release build: a root and a leaf
(auth + proxy + node in one daemon) joined through their reverse tunnel; $SESSIONS
\`tsh ssh --cluster=leaf root@leaf-node true\` sessions, then $LISTS \`tsh ls --cluster=leaf\`
calls, $CONCURRENCY at a time, with the daemons' default settings (tunnel_recycle_after 128).

$TABLE"
fi
