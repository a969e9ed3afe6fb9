#!/usr/bin/env bash
# Local multi-process Cairn cluster: 3 meta nodes, DATA_NODES data nodes
# (default 6) and 1 gateway, each a separate process on 127.0.0.1, with all
# state under .cluster/.
#
#   deploy/local/cluster.sh up     start (or restart) the cluster
#   deploy/local/cluster.sh down   stop it (state is kept; rm -rf .cluster to wipe)
#
# .cluster/env is shell-sourceable (AWS_* for S3 tools; CAIRN_ADMIN_ADDR,
# CAIRN_ADMIN_TOKEN, CAIRN_CA, CAIRN_CERT and CAIRN_KEY for cairnctl) and
# .cluster/<name>.pid holds each process's pid. The admin token is
# .cluster/admin.token (0600): taken from CAIRN_ADMIN_TOKEN on first start,
# else generated. Every internal port speaks mutual TLS: on first start a
# cluster CA and one certificate per process (and one for cairnctl) are
# made in .cluster/tls with 'cairnctl cert'. INSECURE_INTERNAL=1 runs every
# process with --insecure-internal instead (plaintext, for benchmarks that
# measure what TLS costs; never for anything else).
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
dir="${CLUSTER_DIR:-$root/.cluster}"
bin="${CAIRN_BIN:-$root/bin/cairn}"
ctl="${CAIRNCTL_BIN:-$root/bin/cairnctl}"
data_nodes="${DATA_NODES:-6}"
base="${BASE_PORT:-17000}"
gw_addr="${GATEWAY_ADDR:-127.0.0.1:9100}"
region="${CAIRN_REGION:-us-east-1}"
access="${CAIRN_ACCESS_KEY:-cairn-dev-access}"
secret="${CAIRN_SECRET_KEY:-cairn-dev-secret-key}"

meta_raft() { echo "127.0.0.1:$((base + $1))"; }
meta_grpc() { echo "127.0.0.1:$((base + 100 + $1))"; }
data_addr() { echo "127.0.0.1:$((base + 200 + $1))"; }
ops_addr() { echo "127.0.0.1:$((base + 300 + $1))"; } # meta 1-3, gateway 10, data 11-

# alive PID: the process exists and is not a zombie waiting to be reaped.
alive() { [ -r "/proc/$1/stat" ] && [ "$(sed 's/.*) //' "/proc/$1/stat" | cut -c1)" != Z ]; }

start() { # name, args...
  local name=$1; shift
  if [ -f "$dir/$name.pid" ] && alive "$(cat "$dir/$name.pid")"; then
    echo "$name already running (pid $(cat "$dir/$name.pid"))"; return
  fi
  setsid "$bin" "$@" >>"$dir/$name.log" 2>&1 < /dev/null &
  echo $! >"$dir/$name.pid"
}

up() {
  [ -x "$bin" ] || { echo "no $bin: run 'make build' first" >&2; exit 1; }
  mkdir -p "$dir"
  local token_file="$dir/admin.token"
  if [ ! -s "$token_file" ]; then
    if [ -n "${CAIRN_ADMIN_TOKEN:-}" ]; then
      (umask 077; printf '%s\n' "$CAIRN_ADMIN_TOKEN" >"$token_file")
    else
      (umask 077; od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$token_file")
    fi
  fi
  # The cluster's PKI: a CA, then a leaf per identity, each made once.
  local tls="$dir/tls" tlsflags=(--cert-dir "$dir/tls")
  local ctlflags=(--ca "$tls/ca.crt" --cert "$tls/admin-operator.crt" --key "$tls/admin-operator.key")
  if [ "${INSECURE_INTERNAL:-0}" = 1 ]; then
    tlsflags=(--insecure-internal)
    ctlflags=(--insecure --token-file "$token_file")
  else
    [ -s "$tls/ca.crt" ] || "$ctl" cert init --dir "$tls" --cluster local >/dev/null
    issue() { [ -s "$tls/$1-$2.crt" ] || "$ctl" cert issue --dir "$tls" --role "$1" --id "$2" --host 127.0.0.1,localhost >/dev/null; }
    for i in 1 2 3; do issue meta "meta-$i"; done
    for i in $(seq 1 "$data_nodes"); do issue data "data-$i"; done
    issue gateway gateway-1
    issue admin operator
  fi

  local peers="" metas=""
  for i in 1 2 3; do
    peers+="${peers:+,}meta-$i=$(meta_raft "$i")"
    metas+="${metas:+,}$(meta_grpc "$i")"
  done
  # Data is always encrypted at rest: the master keyring (gateways and
  # metas: see docs/encryption.md) comes from
  # CAIRN_MASTER_KEY (hex) or, generated on first start, $dir/master.key.
  local keyflags=()
  if [ -z "${CAIRN_MASTER_KEY:-}" ]; then
    if [ ! -s "$dir/master.key" ]; then
      (umask 077; od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$dir/master.key")
    fi
    keyflags=(--master-key-file "$dir/master.key")
  fi
  for i in 1 2 3; do
    start "meta-$i" meta --id "meta-$i" --raft-addr "$(meta_raft "$i")" --grpc-addr "$(meta_grpc "$i")" \
      --dir "$dir/meta-$i" --peers "$peers" --bootstrap --admin-token-file "$token_file" --ops-addr "$(ops_addr "$i")" "${tlsflags[@]}" ${keyflags[@]+"${keyflags[@]}"}
  done
  for i in $(seq 1 "$data_nodes"); do
    start "data-$i" data --id "data-$i" --host "host-$i" --listen "$(data_addr "$i")" --dir "$dir/data-$i" --meta "$metas" --ops-addr "$(ops_addr $((10 + i)))" "${tlsflags[@]}"
  done
  # GATEWAY_FLAGS: extra gateway flags, e.g. --allow-insecure-ssec.
  local gwflags=()
  read -ra gwflags <<<"${GATEWAY_FLAGS:-}"
  CAIRN_ACCESS_KEY="$access" CAIRN_SECRET_KEY="$secret" \
    start gateway-1 gateway --id gateway-1 "${tlsflags[@]}" --listen "$gw_addr" --meta "$metas" --region "$region" --ops-addr "$(ops_addr 10)" ${keyflags[@]+"${keyflags[@]}"} \
    ${gwflags[@]+"${gwflags[@]}"}

  cat >"$dir/env" <<ENV
export AWS_ENDPOINT_URL=http://$gw_addr
export AWS_ACCESS_KEY_ID=$access
export AWS_SECRET_ACCESS_KEY=$secret
export AWS_REGION=$region
export CAIRN_ADMIN_ADDR=$metas
export CAIRN_ADMIN_TOKEN=\$(cat "$token_file")
ENV
  if [ "${INSECURE_INTERNAL:-0}" = 1 ]; then
    echo "# plaintext internal ports (INSECURE_INTERNAL=1): cairnctl needs --insecure" >>"$dir/env"
  else
    printf 'export CAIRN_CA=%s\nexport CAIRN_CERT=%s\nexport CAIRN_KEY=%s\n' \
      "$tls/ca.crt" "$tls/admin-operator.crt" "$tls/admin-operator.key" >>"$dir/env"
  fi

  # Wait for a leader, every data node healthy, and the gateway answering.
  local deadline=$((SECONDS + 120)) healthy=0 gw_ok=no
  while :; do
    healthy=$("$ctl" --addr "$metas" "${ctlflags[@]}" --timeout 2s status -o json 2>/dev/null | grep -c '"healthy": true' || true)
    gw_ok=no
    curl -s -o /dev/null "http://$gw_addr/" && gw_ok=yes
    [ "$healthy" -ge "$data_nodes" ] && [ $gw_ok = yes ] && break
    if [ $SECONDS -ge $deadline ]; then
      echo "cluster did not become ready in 120 s ($healthy of $data_nodes data nodes healthy, gateway answering: $gw_ok); logs are in $dir" >&2
      for f in "$dir"/*.pid; do
        alive "$(cat "$f")" || echo "  $(basename "$f" .pid) is not running: see $dir/$(basename "$f" .pid).log" >&2
      done
      exit 1
    fi
    sleep 0.3
  done
  echo "cluster up: S3 at http://$gw_addr, admin at $metas (source $dir/env)"
}

down() {
  [ -d "$dir" ] || { echo "no cluster at $dir"; return; }
  for f in "$dir"/*.pid; do
    [ -e "$f" ] || continue
    local pid; pid=$(cat "$f")
    if alive "$pid"; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do alive "$pid" || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
      # Wait until it is gone, so its ports are free for the next 'up'.
      for _ in $(seq 1 50); do alive "$pid" || break; sleep 0.1; done
    fi
    rm -f "$f"
  done
  echo "cluster down (state kept in $dir)"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
