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

PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
PG_DIR=$WORK/pg
mkdir -p "$PG_DIR"
chown postgres: "$PG_DIR" "$WORK"
PORT=$(free_port)
runuser -u postgres -- "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 --no-locale >/dev/null
runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w \
  -o "-p $PORT -c listen_addresses=127.0.0.1 -k $PG_DIR" start >/dev/null
trap 'runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast stop >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
runuser -u postgres -- "$PG_BIN/psql" -h "$PG_DIR" -p "$PORT" -q -c "CREATE DATABASE bench" postgres

echo "storage backends, $OPS operations per row, $(nproc) cores, release build"
"$BIN/storage" --sqlite "$WORK/sqlite" --ops "$OPS"
"$BIN/storage" --postgres "postgres://postgres@127.0.0.1:$PORT/bench?sslmode=disable" --ops "$OPS" | tail -n +3
