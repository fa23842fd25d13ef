#!/bin/sh
# run.sh TARGET SEED_CORPUS WORK_DIR [libFuzzer args...]
# Fuzzes on a scratch corpus seeded from the committed one, so the committed
# seeds are never rewritten; a crash fails the test and leaves its input in WORK_DIR.
set -eu
target=$1 seeds=$2 work=$3
shift 3
rm -rf "$work"
mkdir -p "$work/corpus"
if [ -d "$seeds" ]; then cp -R "$seeds"/. "$work/corpus/"; fi
cd "$work"
exec "$target" "$@" -artifact_prefix="$work/" corpus
