#!/usr/bin/env bash
# export_1m.sh [HIPPO] [STEPS]: generates a data folder of about STEPS step
# records (default 1,000,000: 200 participants x 10 episodes x 500 records)
# and exports it to CSV, JSONL and Minari under /usr/bin/time -v, printing wall time,
# peak RSS and output sizes. Figures go to docs/performance.md.
set -euo pipefail
hippo=$(realpath "${1:-build/release/hippo}")
steps=${2:-1000000}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/hippo-export-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
users=200 episodes=10
per=$(( steps / (users * episodes) - 1 ))
python3 "$here/gen_data.py" "$work/data" --users $users --episodes $episodes --steps $per --obs 4
du -sh "$work/data" | awk '{print "data folder: " $1}'
for fmt in csv jsonl minari; do
  /usr/bin/time -v "$hippo" export P --data "$work/data" --format $fmt --out "$work/out-$fmt" \
      --no-progress 2> "$work/time-$fmt.txt" || { cat "$work/time-$fmt.txt"; exit 1; }
  grep '^hippo export: P' "$work/time-$fmt.txt"
  awk -v f=$fmt -F': ' '/Elapsed \(wall clock\)/ {w=$2} /Maximum resident set size/ {r=$2}
      END {printf "%s: wall %s, peak RSS %.1f MiB\n", f, w, r/1024}' "$work/time-$fmt.txt"
  du -sh "$work/out-$fmt"/* | sed 's/^/  /'
done
