#!/bin/sh
# make bench: every figure against its anchor, measured in the same run.
# One line per figure: its name, both values and the ratio ours/anchor.
set -u
cd "$(dirname "$0")/.."
build/release/bench/bench_closes
sh bench/tunnel.sh
sh bench/desktop.sh
