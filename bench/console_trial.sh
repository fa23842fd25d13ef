#!/usr/bin/env bash
# bench/console_trial.sh [HIPPO] [SECONDS] [SESSIONS] [SPECTATORS]: starts
# `hippo serve` on the benchmark study (CartPole-v1, 600x400 JPEG, 30 fps) on a
# free port, then `hippo bench trial --next --spectators K`: N participants
# play while the researcher console's live stream is open and K spectators
# watch the first K of them. Figures: docs/performance.md, "Researcher console".
set -euo pipefail
cd "$(dirname "$0")/.."
HIPPO=${1:-./build/release/hippo}
SECONDS_EACH=${2:-10}
N=${3:-120}
K=${4:-3}
DATA=$(mktemp -d)
OUT=$(mktemp)
TOKEN=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "$TOKEN" > "$DATA/.token"
"$HIPPO" serve bench/projects/trial-cartpole --port 0 --data "$DATA" --log-level warn \
  --admin-token-file "$DATA/.token" --alloc-rate 0 --max-per-address 0 >"$OUT" &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$DATA" "$OUT"' EXIT
for _ in $(seq 100); do grep -q listening "$OUT" && break; sleep 0.1; done
URL=$(sed -n 's/.*listening on \([^ ]*\) .*/\1/p' "$OUT")
WS=${URL/http/ws}
echo "server pid $PID at $URL; load: $(cut -d' ' -f1-3 /proc/loadavg)"
"$HIPPO" bench trial --url "$WS/ws" --next --sessions "$N" --seconds "$SECONDS_EACH" --pid "$PID" \
  --spectators "$K" --token-file "$DATA/.token" || true
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
