#!/usr/bin/env bash
# bench/trial.sh [HIPPO] [SECONDS] [SESSIONS...]: starts `hippo trial` on the
# benchmark study (CartPole-v1, 600x400 JPEG, 30 fps) on a free port, runs
# `hippo bench trial` against it for each session count, then stops it.
# STUDY=bench/projects/trial-cartpole-frames: the same with trial.recordFrames.
# Figures: docs/performance.md, "Trial server".
set -euo pipefail
cd "$(dirname "$0")/.."
HIPPO=${1:-./build/release/hippo}
SECONDS_EACH=${2:-10}
shift $(( $# > 2 ? 2 : $# ))
COUNTS=("$@")
[ ${#COUNTS[@]} -gt 0 ] || COUNTS=(1 20 60 120)
STUDY=${STUDY:-bench/projects/trial-cartpole}
DATA=$(mktemp -d)
OUT=$(mktemp)
"$HIPPO" trial "$STUDY" --port 0 --data "$DATA" --log-level warn \
  --alloc-rate 0 --max-per-address 0 >"$OUT" &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$DATA" "$OUT"' EXIT
for _ in $(seq 50); do grep -q listening "$OUT" && break; sleep 0.1; done
URL=$(sed -n 's/.*listening on \([^ ]*\) .*/\1/p' "$OUT")
echo "server pid $PID at $URL ($STUDY); load: $(cut -d' ' -f1-3 /proc/loadavg)"
for n in "${COUNTS[@]}"; do
  "$HIPPO" bench trial --url "$URL/" --sessions "$n" --seconds "$SECONDS_EACH" --pid "$PID" || true
  echo "load: $(cut -d' ' -f1-3 /proc/loadavg); data folder: $(du -sm "$DATA" | cut -f1) MB"
done
