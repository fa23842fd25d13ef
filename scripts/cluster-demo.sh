#!/usr/bin/env bash
# hippo on several nodes, on one machine (docs/cluster.md): PostgreSQL, three
# `hippo serve` nodes sharing it as their participant store, HAProxy in front
# as the one public origin (/g/<node>/ to that node, everything else
# round-robin to the ready ones), all on 127.0.0.1. Prints the study URL;
# Ctrl-C stops everything.
#
#   scripts/cluster-demo.sh [STUDY_DIR]       (default examples/cartpole)
#
# Environment: HIPPO_BIN (default build/release/hippo, else build/test/hippo),
# PORT (the public port, default 8080; the nodes take PORT+1..PORT+3),
# STORE (the participant store: a postgresql:// URL or sqlite:PATH; by
# default a PostgreSQL server of the demo's own when Debian's server binaries
# are installed (/usr/lib/postgresql/*/bin/initdb), else an SQLite file in
# the demo's folder), PG_PORT (that server's port, default the first free one
# from PORT+4), DEMO_DIR (default a new temporary folder). The demo's
# PostgreSQL lives in DEMO_DIR/pg (run as the `postgres` user when the demo
# runs as root), listens on 127.0.0.1 only and takes the password kept in
# DEMO_DIR/pg-password over TCP. Records stay in each node's data folder
# (--records-local): a real cluster stores them to S3. Kill a node (kill -9
# the pid printed) and watch its participants' games go on on another node.
set -euo pipefail
cd "$(dirname "$0")/.."

study=${1:-examples/cartpole}
bin=${HIPPO_BIN:-}
if [[ -z $bin ]]; then
  bin=build/release/hippo
  [[ -x $bin ]] || bin=build/test/hippo
fi
[[ -x $bin ]] || { echo "cluster-demo: no hippo binary (make build, or set HIPPO_BIN)" >&2; exit 1; }
command -v haproxy >/dev/null || { echo "cluster-demo: haproxy is missing (scripts/install-deps.sh)" >&2; exit 1; }
port=${PORT:-8080}
dir=${DEMO_DIR:-$(mktemp -d /tmp/hippo-cluster-demo-XXXXXX)}
mkdir -p "$dir"
origin="http://127.0.0.1:$port"
nodes=(node-1 node-2 node-3)

pids=()
pgdir=
stop() {
  trap - INT TERM EXIT
  echo "cluster-demo: stopping"
  # SIGTERM: each node drains (a second one ends the drain)
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [[ -n $pgdir ]]; then
    as_pg "$pgbin/pg_ctl" -D "$pgdir/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
}
trap stop INT TERM EXIT

# ---- the participant store: STORE, else PostgreSQL of our own, else SQLite
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n | tail -n 1 || true)
pguser=
# Runs a PostgreSQL program in the server's folder, with a clean environment,
# as the server's user (root may not run it).
as_pg() {
  local env=(env -i PATH=/usr/bin:/bin LANG=C TZ=UTC)
  if [[ -n $pguser ]]; then
    (cd "$pgdir" && runuser -u "$pguser" -- "${env[@]}" "$@")
  else
    (cd "$pgdir" && "${env[@]}" HOME="$HOME" "$@")
  fi
}
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
start_postgres() {
  pgdir="$dir/pg"
  if [[ $EUID == 0 ]]; then
    pguser=postgres
    id -u postgres >/dev/null 2>&1 || pguser=nobody
  fi
  local pgport=${PG_PORT:-}
  if [[ -z $pgport ]]; then
    pgport=$((port + 4))
    while ! port_free "$pgport"; do pgport=$((pgport + 1)); done
  fi
  local pwfile="$dir/pg-password"
  mkdir -p "$pgdir"
  chmod 700 "$pgdir"
  if [[ -n $pguser ]]; then
    chmod o+x "$dir"
    chown "$pguser" "$pgdir"
  fi
  if [[ ! -f $pgdir/data/PG_VERSION ]]; then
    (umask 077 && head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$pwfile")
    # the password for initdb, readable by the server's user only
    (umask 077 && cat "$pwfile" >"$pgdir/initpw")
    [[ -z $pguser ]] || chown "$pguser" "$pgdir/initpw"
    as_pg "$pgbin/initdb" -D "$pgdir/data" -U hippo --pwfile="$pgdir/initpw" \
      --auth-host=scram-sha-256 --auth-local=trust -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 ||
      { rm -f "$pgdir/initpw"; echo "cluster-demo: initdb failed ($dir/initdb.log):" >&2; tail -n 20 "$dir/initdb.log" >&2; exit 1; }
    rm -f "$pgdir/initpw"
    fresh=1
  fi
  # TCP on 127.0.0.1 with the password; the socket in the server's folder
  as_pg "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $pgport -k '$pgdir'" start >/dev/null ||
    { echo "cluster-demo: PostgreSQL did not start ($pgdir/server.log):" >&2; tail -n 20 "$pgdir/server.log" >&2; exit 1; }
  if [[ -n ${fresh:-} ]]; then
    as_pg "$pgbin/createdb" -h "$pgdir" -p "$pgport" -U hippo hippo
  fi
  # the nodes read the password from the environment, not from their command line
  PGPASSWORD=$(cat "$pwfile")
  export PGPASSWORD
  store="postgresql://hippo@127.0.0.1:$pgport/hippo"
  echo "cluster-demo: PostgreSQL $(basename "$(dirname "$pgbin")") on 127.0.0.1:$pgport (data $pgdir/data, log $pgdir/server.log)"
}
if [[ -n ${STORE:-} ]]; then
  store=$STORE
  echo "cluster-demo: the nodes share the store named by STORE"
elif [[ -n $pgbin && -x $pgbin/initdb ]]; then
  start_postgres
else
  store="sqlite:$dir/hippo.db"
  echo "cluster-demo: no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb): the nodes share the SQLite file $dir/hippo.db"
fi

cfg="$dir/haproxy.cfg"
{
  echo "global"
  echo "  maxconn 4000"
  echo "defaults"
  echo "  mode http"
  echo "  timeout connect 2s"
  echo "  timeout client 60s"
  echo "  timeout server 60s"
  echo "  timeout tunnel 1h"
  echo "  option forwardfor"
  echo "frontend www"
  echo "  bind 127.0.0.1:$port"
  for n in "${nodes[@]}"; do echo "  use_backend $n if { path_beg /g/$n/ }"; done
  echo "  default_backend nodes"
  i=0
  for n in "${nodes[@]}"; do
    i=$((i + 1))
    echo "backend $n"
    echo "  retries 0"
    echo "  http-request replace-path ^/g/[^/]+(/.*)\$ \\1"
    echo "  server $n 127.0.0.1:$((port + i))"
  done
  echo "backend nodes"
  echo "  balance roundrobin"
  echo "  option httpchk GET /healthz"
  echo "  option redispatch"
  echo "  retry-on conn-failure empty-response 503"
  i=0
  for n in "${nodes[@]}"; do
    i=$((i + 1))
    echo "  server $n 127.0.0.1:$((port + i)) check inter 500ms fall 1 rise 1"
  done
} >"$cfg"

i=0
for n in "${nodes[@]}"; do
  i=$((i + 1))
  "$bin" serve "$study" --port $((port + i)) --data "$dir/data-$n" --store "$store" \
    --node "$n" --advertise "$origin/g/$n" --internal "http://127.0.0.1:$((port + i))" \
    --slots 20 --trust-proxy --records-local --drain-grace 10 --log-level warn \
    >"$dir/$n.out" 2>"$dir/$n.log" &
  pids+=($!)
  echo "cluster-demo: $n pid $! port $((port + i)) (log $dir/$n.log)"
done
haproxy -f "$cfg" -db >"$dir/haproxy.log" 2>&1 &
pids+=($!)
echo "cluster-demo: haproxy pid $! on $origin"

# every node answers on its own port, then through HAProxy; one that exited
# (a port taken, a store it cannot open) stops the demo with its log
ready() {
  local i=0 n
  for n in "${nodes[@]}"; do
    i=$((i + 1))
    curl -fs --max-time 2 "http://127.0.0.1:$((port + i))/healthz" >/dev/null 2>&1 || return 1
  done
  curl -fs --max-time 2 "$origin/healthz" >/dev/null 2>&1
}
for t in $(seq 300); do
  ready && break
  i=0
  for n in "${nodes[@]}" haproxy; do
    if ! kill -0 "${pids[$i]}" 2>/dev/null; then
      echo "cluster-demo: $n exited; its log ($dir/$n.log):" >&2
      tail -n 20 "$dir/$n.log" >&2
      exit 1
    fi
    i=$((i + 1))
  done
  [[ $t == 300 ]] && { echo "cluster-demo: the nodes did not become ready in 30 s (logs in $dir)" >&2; exit 1; }
  sleep 0.1
done
id=$(sed -n 's/^ *id: *\([A-Za-z0-9-]*\).*/\1/p' "$study/config.yml" | head -1)
echo "open $origin/?projectId=$id"
echo "cluster-demo: the nodes in http://127.0.0.1:$((port + 1))/metrics (hippo_cluster_node_*); Ctrl-C stops"
wait -n "${pids[@]}" || true
