#!/bin/bash
# Profile a node under the harness's steady load (docs/perf/README.md).
#   scripts/perf-steady.sh BATON_BIN NAME [extra baton-sim args]
# Runs `baton-sim run steady` (500 users x 3 devices, 4,000 ops/s, 25 s) against a node it
# spawns, records the node with perf (cpu-clock, 999 Hz, frame-pointer call graphs) for
# 10 s from 12 s in, and writes NAME.json (the harness report), NAME.folded and NAME.svg.
set -eu
BIN=$1; NAME=$2; shift 2
SIM=${BATON_SIM:-target/release/baton-sim}
HERE=$(dirname "$0")
"$SIM" run steady --spawn "$BIN" --users 500 --rate 4000 --duration 25 --no-baseline \
  --quiet --out "$NAME" "$@" > "$NAME.log" 2>&1 &
SIMPID=$!
PID=
for _ in $(seq 1 60); do
  PID=$(pgrep -f "^$BIN " | head -1 || true); [ -n "$PID" ] && break; sleep 0.5
done
sleep 12
perf record -F 999 -g -p "$PID" -o "$NAME.perf.data" -- sleep 10 > /dev/null 2>&1
wait $SIMPID
perf script -i "$NAME.perf.data" 2> /dev/null | python3 "$HERE/flamegraph.py" --folded > "$NAME.folded"
python3 "$HERE/flamegraph.py" --from-folded --title "$NAME" < "$NAME.folded" > "$NAME.svg"
echo "load $(cut -d' ' -f1-3 /proc/loadavg)"
