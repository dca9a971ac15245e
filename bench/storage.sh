#!/usr/bin/env bash
# Storage backends side by side: get, put, create, compare-and-swap, range, concurrent puts and
# put-to-watcher delay, for SQLite (in a temp dir) and for a throwaway PostgreSQL server with its
# default durability (fsync on, synchronous_commit on: a fair fight with SQLite's
# synchronous=FULL). PostgreSQL runs as the postgres user on 127.0.0.1 and is stopped at exit.
#
#   bench/storage.sh [OPS]   (default 2000 operations per row)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
OPS=${1:-2000}
bench_setup -p tether-bench --bin storage

start_postgres
echo "storage backends, $OPS operations per row, $(nproc) cores, release build"
"$BIN/storage" --sqlite "$WORK/sqlite" --ops "$OPS"
"$BIN/storage" --postgres "$PG_CONN" --ops "$OPS" | tail -n +3
