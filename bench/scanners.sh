#!/usr/bin/env bash
# What a security team runs against a gateway, run against Tether: sslyze on the proxy's HTTPS
# port, judged against Mozilla's "intermediate" profile, twice — with the default certificate
# (the cluster TLS CA's, trusted as an operator would after `tctl auth export --type=tls`) and
# with an operator's own key pair (`https_keypairs`, ECDSA P-256 from a CA of the operator's,
# as an ACME client would write it) — then ssh-audit on the proxy's SSH port, the tunnel port
# and a node. Exits non-zero when sslyze finds either setup non-compliant, or ssh-audit finds a
# failure (its warnings are printed and allowed).
# With --write, replaces the "Security scanners" section of bench/RESULTS.md.
#
#   pip install sslyze ssh-audit     # from PyPI, once
#   bench/scanners.sh [--write]      # BENCH_BIN=target/debug skips the release build
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
WRITE=
if [[ ${1:-} == --write ]]; then WRITE=1; shift; fi
for tool in sslyze ssh-audit openssl; do
  command -v "$tool" >/dev/null || { echo "bench/scanners.sh needs $tool (pip install sslyze ssh-audit)" >&2; exit 1; }
done
bench_setup --bin tether --bin tctl

NODE_SSH=127.0.0.1:$(free_port)
root_config root.example.com
printf 'ssh_service:\n  listen_addr: %s\n' "$NODE_SSH" >> "$WORK/root.yaml"
start_root

# sslyze NAME CA_FILE: the Mozilla intermediate check; prints the verdict line and the issues.
sslyze_check() {
  local out=$WORK/sslyze-$1.txt
  local status=0
  sslyze --mozilla_config=intermediate --certinfo_ca_file="$2" "$ROOT_WEB" > "$out" 2>&1 || status=$?
  sed -n '/COMPLIANCE AGAINST/,$p' "$out" | grep -E "Compliant|compliant|\* " | sed "s/^ */$1: /"
  grep -E "^ +Signature Algorithm:|^ +Key Type:|^ +Key Size:|^ +Curve:" "$out" | head -4 | sed "s/^ */$1 certificate: /"
  return $status
}

FAILED=0
"$BIN/tctl" -c "$WORK/root.yaml" auth export --type=tls > "$WORK/cluster-ca.pem"
DEFAULT=$(sslyze_check default "$WORK/cluster-ca.pem") || FAILED=1

# The operator's CA and a 90-day certificate for the proxy, both ECDSA P-256, with the
# extensions RFC 5280 path validation (and so sslyze) asks of a CA and a server certificate.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 -subj "/CN=Operator CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -keyout "$WORK/op-ca.key" -out "$WORK/op-ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=proxy.example.com" \
  -keyout "$WORK/web.key" -out "$WORK/web.csr" 2>/dev/null
openssl x509 -req -in "$WORK/web.csr" -CA "$WORK/op-ca.pem" -CAkey "$WORK/op-ca.key" -CAcreateserial -days 90 \
  -extfile <(printf '%s\n' "subjectAltName=DNS:proxy.example.com,IP:127.0.0.1" "extendedKeyUsage=serverAuth" \
    "keyUsage=critical,digitalSignature" "authorityKeyIdentifier=keyid" "basicConstraints=critical,CA:FALSE") \
  -out "$WORK/web.pem" 2>/dev/null
chmod 600 "$WORK/web.key"
printf '  https_keypairs:\n  - key_file: %s\n    cert_file: %s\n' "$WORK/web.key" "$WORK/web.pem" > "$WORK/pair.yaml"
python3 - "$WORK/root.yaml" "$WORK/pair.yaml" <<'PY'
import sys
path, pair = sys.argv[1], open(sys.argv[2]).read()
text = open(path).read().replace("  tunnel_listen_addr:", pair + "  tunnel_listen_addr:", 1)
open(path, "w").write(text)
PY
kill "$ROOT_PID"; wait "$ROOT_PID" 2>/dev/null || true
start_root
OPERATOR=$(sslyze_check operator "$WORK/op-ca.pem") || FAILED=1

SSH=""
for target in "proxy SSH $ROOT_SSH" "tunnel $ROOT_TUN" "node $NODE_SSH"; do
  set -- $target
  name="$1 $2"; addr=${!#}
  [[ $1 == tunnel || $1 == node ]] && name=$1
  status=0
  out=$(ssh-audit -n -p "${addr##*:}" "${addr%:*}" 2>&1) || status=$?
  fails=$(grep -c -- "-- \[fail\]" <<<"$out" || true)
  warns=$(grep -- "-- \[warn\]" <<<"$out" | sed 's/ \{2,\}/ /g; s/^/    /' || true)
  SSH+="$name ($addr): ssh-audit exit $status, $fails failures"$'\n'"$warns"$'\n'
  ((fails == 0)) || FAILED=1
done

REPORT="sslyze $(sslyze --help 2>/dev/null | grep -o 'SSLyze version [0-9.]*' | cut -d' ' -f3), ssh-audit $(ssh-audit -h 2>&1 | grep -o 'v[0-9][0-9.]*' | head -1):

\`\`\`
$DEFAULT
$OPERATOR
$SSH\`\`\`"
echo "$REPORT"
if [[ -n $WRITE ]]; then
  write_section "Security scanners" "Measured $(date -u +%Y-%m-%d) by \`bench/scanners.sh\`: sslyze against Mozilla's \"intermediate\" profile on the proxy's HTTPS port, with the default certificate (its chain checked against the cluster TLS CA that \`tctl auth export --type=tls\` prints) and with an operator's ECDSA P-256 pair from a CA of their own (\`https_keypairs\`); ssh-audit on the proxy's SSH port, the tunnel port and a node.

$REPORT"
fi
exit $FAILED
