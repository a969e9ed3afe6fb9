#!/usr/bin/env bash
# make bench: start a fresh local cluster, run `cairn bench` against it and
# report throughput plus the gateway's peak RSS, then stop the cluster.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
export CLUSTER_DIR="${CLUSTER_DIR:-$root/.cluster-bench}"
rm -rf "$CLUSTER_DIR"
if [ "${BENCH_EXTRA:-0}" = 1 ]; then
  # SSE-C over the cluster's plain-HTTP gateway.
  export GATEWAY_FLAGS="${GATEWAY_FLAGS:-} --allow-insecure-ssec"
fi
trap '"$root/deploy/local/cluster.sh" down >/dev/null; rm -rf "$CLUSTER_DIR"' EXIT
if [ "${BENCH_TLS_COMPARE:-0}" = 1 ]; then
  # What internal mutual TLS costs: the core runs against a cluster with
  # mTLS and one with --insecure-internal, alternating, in one run.
  reps="${BENCH_REPS:-2}"
  for rep in $(seq 1 "$reps"); do
    for mode in mtls insecure; do
      rm -rf "$CLUSTER_DIR"
      unset CAIRN_CA CAIRN_CERT CAIRN_KEY
      INSECURE_INTERNAL=$([ $mode = insecure ] && echo 1 || echo 0) "$root/deploy/local/cluster.sh" up >/dev/null
      # shellcheck disable=SC1091
      source "$CLUSTER_DIR/env"
      echo "== internal $mode, rep $rep of $reps, $(nproc) cores; each run ${BENCH_DURATION:-20s} =="
      for spec in "put 16MiB 8" "get 16MiB 8 --keys 32" "put 4KiB 32" "get 4KiB 32 --keys 1000"; do
        set -- $spec
        "$root/bin/cairn" bench --endpoint "$AWS_ENDPOINT_URL" --access-key "$AWS_ACCESS_KEY_ID" \
          --secret-key "$AWS_SECRET_ACCESS_KEY" --region "$AWS_REGION" --bucket bench \
          --op "$1" --size "$2" --concurrency "$3" --duration "${BENCH_DURATION:-20s}" "${@:4}"
      done
      "$root/deploy/local/cluster.sh" down >/dev/null
    done
  done
  exit 0
fi
"$root/deploy/local/cluster.sh" up
# shellcheck disable=SC1091
source "$CLUSTER_DIR/env"
b() { "$root/bin/cairn" bench --endpoint "$AWS_ENDPOINT_URL" --access-key "$AWS_ACCESS_KEY_ID" \
        --secret-key "$AWS_SECRET_ACCESS_KEY" --region "$AWS_REGION" "$@"; }
dur="${BENCH_DURATION:-20s}"
echo "== $(nproc) cores; each run ${dur} =="
if [ "${BENCH_CORE:-1}" = 1 ]; then
  b --bucket bench --op put --size 16MiB --concurrency 8 --duration "$dur"
  b --bucket bench --op get --size 16MiB --concurrency 8 --duration "$dur" --keys 32
  b --bucket bench --op put --size 4KiB --concurrency 32 --duration "$dur"
  b --bucket bench --op get --size 4KiB --concurrency 32 --duration "$dur" --keys 1000
fi
if [ "${BENCH_META:-0}" = 1 ]; then
  # Objects this small are kept inline in meta: each PUT is one Raft commit,
  # and concurrent commits share log appends (raft batching), so the rate
  # at rising concurrency shows how far batching carries.
  echo "== meta commits: 1 KiB PUTs at concurrency 1, 8, 64 =="
  for c in 1 8 64; do
    b --bucket bench-meta --op put --size 1KiB --concurrency "$c" --duration "$dur"
  done
fi
if [ "${BENCH_BIG:-1}" = 1 ]; then
  echo "== 8 concurrent 1 GiB PUTs (gateway memory must stay flat) =="
  b --bucket bench --op put --size 1GiB --concurrency 8 --count 8
fi
if [ "${BENCH_EXTRA:-0}" = 1 ]; then
  echo "== extra: SSE-C, multipart and checksum costs, side by side =="
  for ssec in "" --sse-c; do
    b --bucket bench --op put --size 16MiB --concurrency 8 --duration "$dur" ${ssec:+"$ssec"}
    b --bucket bench --op get --size 16MiB --concurrency 8 --duration "$dur" --keys 32 ${ssec:+"$ssec"}
  done
  b --bucket bench --op put --size 256MiB --concurrency 2 --duration "$dur" --multipart --part-size 16MiB --part-concurrency 4
  b --bucket bench --op put --size 256MiB --concurrency 2 --duration "$dur"
  b --bucket bench --op put --size 16MiB --concurrency 8 --duration "$dur" --checksums
  b --bucket bench --op put --size 16MiB --concurrency 8 --duration "$dur"
fi
pid=$(cat "$CLUSTER_DIR/gateway-1.pid")
echo "gateway peak RSS: $(awk '/VmHWM/ {printf "%.1f MiB", $2/1024}' /proc/"$pid"/status)"
