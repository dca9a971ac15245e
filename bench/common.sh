#!/usr/bin/env bash
# Shared by the bench scripts (source it): Tether clusters and an OpenSSH sshd on loopback, and
# the timing helpers. Call bench_setup first.

RUNS=${RUNS:-30}
# One key-encryption key for the CA keys of every daemon a bench starts: hosts of one cluster on
# PostgreSQL must share it (a lone host would generate DATA_DIR/ca.kek by itself).
export TETHER_CA_KEK=${TETHER_CA_KEK:-$(head -c 32 /dev/urandom | base64)}
BYTES=${BYTES:-1073741824}

# bench_setup CARGO_BUILD_ARGS...: a release build, then BIN, a temp WORK dir and PIDS, all
# cleaned up (processes killed, WORK removed) when the script exits.
# BENCH_BIN=DIR skips the build and measures the binaries in DIR instead (a baseline).
bench_setup() {
  if [[ -n ${BENCH_BIN:-} ]]; then
    BIN=$BENCH_BIN
  else
    cargo build --release --quiet "$@"
    BIN=$PWD/target/release
  fi
  WORK=$(mktemp -d)
  PIDS=()
  trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"' EXIT
}

# free_port: a free loopback port.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# tether_yaml NODENAME DATA_DIR CLUSTER WEB SSH TUNNEL [node]: prints a tether.yaml for auth +
# proxy on the given listen addresses (127.0.0.1:0 for any port), plus the ssh service with "node".
tether_yaml() {
  cat <<YAML
teleport:
  nodename: $1
  data_dir: $2
auth_service:
  cluster_name: $3
  listen_addr: 127.0.0.1:0
proxy_service:
  web_listen_addr: $4
  listen_addr: $5
  tunnel_listen_addr: $6
YAML
  if [[ ${7:-} == node ]]; then printf 'ssh_service:\n  listen_addr: 127.0.0.1:0\n'; fi
}

# start_leaf CLUSTER: a leaf daemon (auth + proxy + node "leaf-node", --insecure) in $WORK/leaf on
# any free ports; sets LEAF_PID once its tunnel listener is up.
start_leaf() {
  tether_yaml leaf-node "$WORK/leaf" "$1" 127.0.0.1:0 127.0.0.1:0 127.0.0.1:0 node > "$WORK/leaf.yaml"
  "$BIN/tether" start --insecure -c "$WORK/leaf.yaml" > "$WORK/leaf.out" 2> "$WORK/leaf.log" &
  LEAF_PID=$!
  PIDS+=($LEAF_PID)
  for _ in $(seq 200); do grep -q "tunnel listening" "$WORK/leaf.out" 2>/dev/null && return; sleep 0.05; done
  echo "the leaf did not start" >&2; exit 1
}

# root_config NAME [node]: fixed free ports in ROOT_WEB, ROOT_SSH and ROOT_TUN, and
# $WORK/root.yaml for a root cluster NAME (auth + proxy, and with "node" the ssh service as node
# root-proxy), so it can be restarted in place with start_root.
root_config() {
  ROOT_WEB=127.0.0.1:$(free_port); ROOT_SSH=127.0.0.1:$(free_port); ROOT_TUN=127.0.0.1:$(free_port)
  tether_yaml root-proxy "$WORK/root" "$1" "$ROOT_WEB" "$ROOT_SSH" "$ROOT_TUN" "${2:-}" > "$WORK/root.yaml"
}

# start_root: starts the root from $WORK/root.yaml; sets ROOT_PID once its tunnel listener is up.
start_root() {
  : > "$WORK/root.out"
  "$BIN/tether" start -c "$WORK/root.yaml" > "$WORK/root.out" 2>> "$WORK/root.log" &
  ROOT_PID=$!
  PIDS+=($ROOT_PID)
  for _ in $(seq 200); do grep -q "tunnel listening" "$WORK/root.out" 2>/dev/null && return; sleep 0.01; done
  echo "the root did not start:" >&2; tail -5 "$WORK/root.log" >&2; exit 1
}

# leaf_online ROOT_DATA LEAF: whether the root shows the leaf's tunnel online.
leaf_online() { "$BIN/tctl" --data-dir "$1" get "rc/$2" 2>/dev/null | grep -q "connection: online"; }

# trusted_pair ROOT LEAF USER [LOGINS [node]]: a root (with "node", also node root-proxy) and a
# leaf (with node leaf-node) joined, USER logged in at the root with LOGINS (default root), the
# leaf online and `tsh ssh --cluster=LEAF root@leaf-node` working.
trusted_pair() {
  root_config "$1" "${5:-}"
  start_root
  start_leaf "$2"
  join_leaf "$WORK/root" "$WORK/leaf" "$1" "$ROOT_TUN" "$ROOT_WEB"
  root_login "$3" "$ROOT_WEB" "${4:-root}"
  for _ in $(seq 200); do leaf_online "$WORK/root" "$2" && break; sleep 0.1; done
  leaf_online "$WORK/root" "$2" || { echo "the leaf did not come online" >&2; exit 1; }
  [ "$("$BIN/tsh" ssh --cluster="$2" root@leaf-node echo ok)" = ok ] || { echo "tsh ssh --cluster does not work" >&2; exit 1; }
}

# root_login USER PROXY_WEB [LOGINS]: a root user with role access and LOGINS (default root),
# logged in through its invite with tsh under TSH_HOME=$WORK/tsh (exported).
root_login() {
  export TSH_HOME=$WORK/tsh
  local invite
  invite=$("$BIN/tctl" --data-dir "$WORK/root" users add "$1" --roles=access --logins="${3:-root}" | grep -o -m1 -- '--invite=[0-9a-f]*' | cut -d= -f2)
  echo "$1-password" | "$BIN/tsh" login --proxy="$2" --user="$1" --insecure --invite="$invite" --keystore=file > /dev/null 2>&1
}

# join_leaf ROOT_DATA LEAF_DATA ROOT_NAME ROOT_TUNNEL ROOT_WEB: a trusted_cluster token from the
# root, then the leaf trusts the root with role map access → access.
join_leaf() {
  local token
  token=$("$BIN/tctl" --data-dir "$1" tokens add --type=trusted_cluster | sed -n 's/.*token: //p')
  cat > "$WORK/tc-$3.yaml" <<YAML
kind: trusted_cluster
version: v2
metadata:
  name: $3
spec:
  enabled: true
  token: $token
  tunnel_addr: $4
  web_proxy_addr: $5
  role_map:
  - remote: access
    local: [access]
YAML
  "$BIN/tctl" --data-dir "$2" create "$WORK/tc-$3.yaml" > /dev/null
}

# OpenSSH's client tuned as a fair peer: classical key exchange (its post-quantum default costs
# ~95 ms of client CPU here), AES-GCM, no GSSAPI. bench/versus.sh also measures its defaults.
OPENSSH_TUNE="-o KexAlgorithms=curve25519-sha256 -o Ciphers=aes128-gcm@openssh.com,aes256-gcm@openssh.com -o GSSAPIAuthentication=no"

# start_openssh: sshd serving as both the jump host and the target; sets SSH_OPTS (the tuned
# client's options) and PORT.
start_openssh() {
  mkdir -p /run/sshd "$WORK/ssh"
  ssh-keygen -q -t ed25519 -N '' -f "$WORK/ssh/host_key"
  ssh-keygen -q -t ed25519 -N '' -f "$WORK/ssh/user_key"
  cp "$WORK/ssh/user_key.pub" "$WORK/ssh/authorized_keys"
  # sshd reads authorized_keys as the login, which need not be root.
  chmod a+rx "$WORK" "$WORK/ssh"
  chmod a+r "$WORK/ssh/authorized_keys"
  PORT=$(free_port)
  cat > "$WORK/ssh/sshd_config" <<CFG
Port $PORT
ListenAddress 127.0.0.1
HostKey $WORK/ssh/host_key
AuthorizedKeysFile $WORK/ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
PidFile $WORK/ssh/sshd.pid
Subsystem sftp /usr/lib/openssh/sftp-server
CFG
  /usr/sbin/sshd -D -e -f "$WORK/ssh/sshd_config" 2> "$WORK/ssh/sshd.log" &
  PIDS+=($!)
  sleep 0.5
  # shellcheck disable=SC2206 # OPENSSH_TUNE is a list of options
  SSH_OPTS=(-F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR
    $OPENSSH_TUNE -o HostKeyAlgorithms=ssh-ed25519 -i "$WORK/ssh/user_key")
}

# write_section TITLE BODY: replaces (or appends) the "## TITLE" section of bench/RESULTS.md.
write_section() {
  python3 - "$1" "$2" <<'PY'
import re, sys, datetime
title, body = sys.argv[1], sys.argv[2]
path = "bench/RESULTS.md"
text = open(path).read()
section = f"## {title} ({datetime.date.today()})\n\n{body}\n"
pattern = r"## " + re.escape(title) + r" \(.*?(?=\n## |\Z)"
if re.search(pattern, text, flags=re.S):
    text = re.sub(pattern, lambda _: section, text, flags=re.S)
else:
    text = text.rstrip("\n") + "\n\n" + section
open(path, "w").write(text)
PY
}

# start_postgres: a throwaway PostgreSQL server with its default durability (fsync and
# synchronous_commit on) as the postgres user on 127.0.0.1, database "bench"; sets PG_CONN,
# PG_PORT, PG_BIN, PG_DIR and stops the server (and removes $WORK) at exit. Call after
# bench_setup.
start_postgres() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  PG_DIR=$WORK/pg
  mkdir -p "$PG_DIR"
  chown postgres: "$PG_DIR" "$WORK"
  local port
  port=$(free_port)
  runuser -u postgres -- "$bin/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 --no-locale >/dev/null
  runuser -u postgres -- "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w \
    -o "-p $port -c listen_addresses=127.0.0.1 -c max_connections=200 -k $PG_DIR" start >/dev/null
  trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; runuser -u postgres -- "'"$bin"'/pg_ctl" -D "'"$PG_DIR"'/data" -m fast stop >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
  runuser -u postgres -- "$bin/psql" -h "$PG_DIR" -p "$port" -q -c "CREATE DATABASE bench" postgres
  PG_CONN="postgres://postgres@127.0.0.1:$port/bench?sslmode=disable"
  PG_PORT=$port
  PG_BIN=$bin
}

# pg_database NAME: creates database NAME on the start_postgres server and prints its
# connection string.
pg_database() {
  runuser -u postgres -- "$PG_BIN/psql" -h "$PG_DIR" -p "$PG_PORT" -q -c "CREATE DATABASE $1" postgres
  echo "postgres://postgres@127.0.0.1:$PG_PORT/$1?sslmode=disable"
}
