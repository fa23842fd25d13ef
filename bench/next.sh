#!/usr/bin/env bash
# Benchmark of the study flow: GET /next for an existing participant with wrk
# (requests/s and latency percentiles), the session allocation time at
# startServerStep (from the server's log), and the time from the request that
# reaches the game step to show_game_page (client side, curl).
#
#   bash bench/next.sh [HIPPO_BIN] [SECONDS] [CONNECTIONS]
#
# HIPPO_STORE=postgresql://... runs the server on that participant store.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-./build/release/hippo}
SECS=${2:-10}
CONNS=${3:-32}
command -v wrk >/dev/null || { echo "bench/next.sh: wrk is not installed (apt-get install wrk)"; exit 1; }

tmp=$(mktemp -d /tmp/hippo-bench-next-XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" serve examples/cartpole --port "$port" --data "$tmp/data" --log-level info \
	${HIPPO_STORE:+--store "$HIPPO_STORE"} \
	>"$tmp/out" 2>"$tmp/log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do grep -q "listening on" "$tmp/out" 2>/dev/null && break; sleep 0.1; done
base="http://127.0.0.1:$port/next?projectId=cartpole-demo"

echo "== GET /next for an existing participant (wrk -t2 -c$CONNS -d${SECS}s --latency)"
user="bench$$"
curl -sf "$base&userId=$user" >/dev/null
wrk -t2 -c"$CONNS" -d"${SECS}s" --latency "$base&userId=$user" | tee "$tmp/wrk"

echo "== session allocation at startServerStep and time to show_game_page (20 participants)"
for i in $(seq 20); do
	u="alloc$$-$i"
	curl -sf -X POST -H 'Content-Type: application/json' -d '{"consent":"yes"}' "$base&userId=$u" >/dev/null
	# The POST on the instructions reaches the game step: its answer is show_game_page.
	curl -sf -o "$tmp/ans" -w '%{time_total}\n' -X POST -H 'Content-Type: application/json' \
		-d '{}' "$base&userId=$u" >>"$tmp/times"
	grep -q show_game_page "$tmp/ans" || { echo "no show_game_page for $u"; cat "$tmp/ans"; exit 1; }
done
grep -o 'msg="session allocated".* ms=[0-9.]*' "$tmp/log" | sed 's/.*ms=//' | sort -n >"$tmp/alloc"
awk '{a[NR]=$1} END {printf "session allocation: median %.3f ms, max %.3f ms (n=%d)\n", a[int((NR+1)/2)], a[NR], NR}' "$tmp/alloc"
sort -n "$tmp/times" | awk '{a[NR]=$1*1000} END {printf "game step reached -> show_game_page: median %.2f ms, max %.2f ms (n=%d, whole HTTP request)\n", a[int((NR+1)/2)], a[NR], NR}'
