#!/bin/sh
# make bench: every figure against its anchor, measured in the same run.
# One line per figure: its name, both values and the ratio ours/anchor,
# then the load average when it was printed (the machine may be shared).
set -u
cd "$(dirname "$0")/.."
load() { cut -d' ' -f1-3 /proc/loadavg; }
with_load() { while IFS= read -r l; do echo "$l (load average $(load))"; done; }
echo "load average: $(load) ($(nproc) cores)"
build/release/bench/bench_closes
sh bench/tunnel.sh | with_load
sh bench/agents.sh | with_load
sh bench/desktop.sh | with_load
