#!/usr/bin/env bash
# The mutation half of the proof (issue 27): `cargo mutants` over the modules that say no
# (.cargo/mutants.toml lists them, and the equivalent mutants with their reasons), one crate at a
# time, on a clean clone of HEAD (so the fuzz corpus and local edits stay out of it). Prints each
# crate's summary line and the mutants missed; exits non-zero when any was missed or timed out.
# Outcomes per crate land in target/mutants/CRATE/mutants.out/.
#
#   bench/mutants.sh [CRATE...]    # default: every crate with a listed module
#
# Each mutant rebuilds its crate's test binaries: on 2 cores the whole run takes about 2 hours.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-mutants >/dev/null || {
  echo "bench/mutants.sh needs cargo-mutants: cargo install cargo-mutants --locked" >&2
  exit 1
}
CRATES=("$@")
if ((${#CRATES[@]} == 0)); then CRATES=(tether-shared tether-auth tether-node tether-edge tether-web); fi
ROOT=$PWD
OUT=$ROOT/target/mutants
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
git clone -q "$ROOT" "$WORK/src"
mkdir -p "$OUT"
# One target directory for every run: each run copies the tree to a new scratch directory, so
# the workspace's crates build again, but the dependencies are built once.
export CARGO_TARGET_DIR=$ROOT/target/mutants-build
STATUS=0
for crate in "${CRATES[@]}"; do
  log=$OUT/$crate.log
  (cd "$WORK/src" && cargo mutants -p "$crate" -o "$OUT/$crate" --colors never) > "$log" 2>&1 || STATUS=1
  echo "$crate: $(grep -E 'mutants tested' "$log" | tail -1)"
  for kind in missed timeout; do
    file=$OUT/$crate/mutants.out/$kind.txt
    if [[ -s $file ]]; then sed "s/^/  $kind: /" "$file"; fi
  done
done
exit $STATUS
