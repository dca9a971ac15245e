#!/usr/bin/env bash
# Leaf tunnels on root hosts sharing one PostgreSQL database: N leaves, each tunnelled to every
# one of K roots (N × K tunnels), for K = 1 and K = 2 on fresh databases. Reports memory per
# tunnel, each root's CPU and the database's write rate, which must stay flat per tunnel.
#
#   bench/ha.sh [N]   (default 5000; one process may hold 20,000 open files here)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
N=${1:-5000}
bench_setup -p tether-server -p tether-tctl -p tether-bench
start_postgres
for K in 1 2; do
  CONN=$(pg_database "bench_k$K")
  echo "== K=$K"
  "$BIN/tunnels" --bin "$BIN" --n "$N" --roots "$K" --postgres "$CONN"
done
