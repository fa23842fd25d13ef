#!/usr/bin/env bash
# Bans C library calls that have no bound or no error report (see CODE_STYLE.md),
# and checks the rules between the folders of src/ (scripts/check-layers.py).
set -euo pipefail
cd "$(dirname "$0")/.."
banned='\b(sprintf|vsprintf|strcpy|strcat|strtok|atoi|atol|atof|gets|tmpnam)[[:space:]]*\('
if hits=$(grep -rnE "$banned" src include tests/unit tests/fuzz examples --include='*.c' --include='*.h'); then
  echo "check-style: banned functions (use snprintf, memcpy with a length, strtol...):"
  echo "$hits"
  exit 1
fi
python3 scripts/check-layers.py
echo "check-style: ok"
