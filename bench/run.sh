#!/usr/bin/env bash
# bench/run.sh [HIPPO]: every benchmark, one after the other (`make bench`).
# Each prints its own table; docs/performance.md records the figures and the
# machine they were measured on. Takes about five minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
HIPPO=${1:-./build/release/hippo}

section() { printf '\n==== %s ====\n' "$*"; }

section "Environments: steps/s and render+JPEG frames/s"
for id in CartPole-v1 MountainCar-v0 Acrobot-v1 Pendulum-v1 MiniGrid-Empty-8x8-v0; do
	"$HIPPO" bench env "$id" --seconds 2
done

section "Trial server: websocket participants at 30 fps (CartPole-v1 600x400 JPEG)"
bash bench/trial.sh "$HIPPO" 10 1 20 60 120

section "Researcher console: 120 participants, the live stream open, 3 spectators"
bash bench/console_trial.sh "$HIPPO" 10 120 3

section "Researcher console: its routes with 100 000 participants (fills a store: ~8 min)"
"$HIPPO" bench admin --participants 100000 --runs 5

section "Study flow: GET /next with wrk, session allocation, show_game_page"
bash bench/next.sh "$HIPPO" 10 32

section "External environment processes (pure-Python example, 600x400 RGB)"
"$HIPPO" bench external --seconds 3 --processes 1
"$HIPPO" bench external --seconds 3 --processes 4

section "Export of a 1 M-step data folder"
bash bench/export_1m.sh "$HIPPO"
