#!/usr/bin/env bash
# verify_bench.sh [HIPPO] [USERS] [TRIALS]: generates replayable MountainCar
# records (USERS x TRIALS episodes of 200 steps, default 50 x 20 = 200,000
# steps) with gen_replayable.py and times `hippo verify` on them under
# /usr/bin/time -v: steps re-simulated and compared per second, peak RSS.
# Figures go to docs/performance.md.
set -euo pipefail
hippo=$(realpath "${1:-build/release/hippo}")
users=${2:-50} trials=${3:-20}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/hippo-verify-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
python3 "$here/gen_replayable.py" "$hippo" "$work/data" --users "$users" --trials "$trials"
du -sh "$work/data" | awk '{print "data folder: " $1}'
/usr/bin/time -v "$hippo" verify P --data "$work/data" --quiet 2> "$work/time.txt" \
  || { cat "$work/time.txt"; exit 1; }
grep '^hippo verify: P' "$work/time.txt"
awk -F': ' '/Elapsed \(wall clock\)/ {w=$2} /Maximum resident set size/ {r=$2}
    END {printf "verify: wall %s, peak RSS %.1f MiB\n", w, r/1024}' "$work/time.txt"
