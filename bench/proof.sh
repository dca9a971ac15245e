#!/usr/bin/env bash
# Proof that the security checks are needed and tested (issue 27): runs every fuzz target
# (fuzz/, cargo fuzz on the nightly toolchain) for a time budget from its seed corpus, and prints
# executions, corpus size and the verdict per target. A crash stops with its input saved under
# fuzz/artifacts/TARGET/. With --mutants it then runs bench/mutants.sh: cargo mutants over the
# modules that say no (.cargo/mutants.toml), with each crate's summary and every mutant missed.
#
#   bench/proof.sh [--fuzz-seconds N] [--fuzz-runs R] [--no-fuzz] [--mutants] [TARGET...]
#
# Each target runs until N seconds (default 60) or R executions (default: no cap), whichever
# comes first; the issue's proof run is `--fuzz-seconds 1800 --fuzz-runs 10000000 --mutants`.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=60
RUNS=-1
FUZZ=1
MUTANTS=0
while [[ ${1:-} == --* ]]; do
  case $1 in
    --fuzz-seconds) SECONDS_EACH=$2; shift ;;
    --fuzz-runs) RUNS=$2; shift ;;
    --no-fuzz) FUZZ=0 ;;
    --mutants) MUTANTS=1 ;;
    *) echo "bench/proof.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
if ((!FUZZ)); then
  ((MUTANTS)) || { echo "bench/proof.sh: --no-fuzz without --mutants does nothing" >&2; exit 2; }
  exec bench/mutants.sh
fi
command -v cargo-fuzz >/dev/null || { echo "bench/proof.sh needs cargo-fuzz: cargo install cargo-fuzz" >&2; exit 1; }
python3 fuzz/seeds.py > /dev/null
TARGETS=("$@")
if ((${#TARGETS[@]} == 0)); then mapfile -t TARGETS < <(cd fuzz && cargo +nightly fuzz list); fi
cd fuzz
cargo +nightly fuzz build
# Where cargo fuzz put them: fuzz/target, or CARGO_TARGET_DIR when set (as .ci/run may).
BINS=${CARGO_TARGET_DIR:-target}/$(rustc +nightly -vV | sed -n 's/^host: //p')/release
printf '%-16s %14s %10s %8s %8s\n' target executions "exec/s" corpus seconds
FAILED=0
for t in "${TARGETS[@]}"; do
  log=$(mktemp)
  status=0
  started=$SECONDS
  mkdir -p "artifacts/$t"
  # The binaries built above, run directly: `cargo fuzz run` would rebuild whatever changed in
  # the tree since, so a long run would not fuzz one build throughout.
  "$BINS/$t" -artifact_prefix="$PWD/artifacts/$t/" "corpus/$t" -max_total_time="$SECONDS_EACH" \
    -runs="$RUNS" -rss_limit_mb=2048 -timeout=10 > "$log" 2>&1 || status=$?
  done_line=$(grep -E "^#[0-9]+.*(DONE|pulse|NEW|REDUCE)" "$log" | tail -1 || true)
  execs=$(sed -E 's/^#([0-9]+).*/\1/' <<<"$done_line")
  rate=$(grep -o 'exec/s: [0-9]*' <<<"$done_line" | awk '{print $2}' || true)
  corpus=$(ls "corpus/$t" | wc -l)
  printf '%-16s %14s %10s %8s %8s' "$t" "${execs:-?}" "${rate:-?}" "$corpus" "$((SECONDS - started))"
  if ((status != 0)); then
    echo "   FAILED (exit $status): $(grep -m1 -E 'panicked|ERROR: libFuzzer|SUMMARY' "$log" || true)"
    grep -m1 "^fuzz target $t:" "$log" || true
    grep -m1 "Test unit written to" "$log" || true
    FAILED=1
  else
    echo "   ok"
  fi
  rm -f "$log"
done
if ((MUTANTS)); then
  cd ..
  bench/mutants.sh || FAILED=1
fi
exit $FAILED
