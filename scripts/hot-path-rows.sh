#!/usr/bin/env bash
# Issue 12's rows (docs/CAPACITY.md, "The hot path") for one or more node binaries,
# run interleaved (round 1: A B ..., round 2: A B ...) on this machine, one JSON per run.
# Summarize with scripts/hot-path-table.py OUT.
#
# Usage: scripts/hot-path-rows.sh OUT NAME=BIN [NAME=BIN ...]
# Env:   SIM     the harness (default target/release/baton-sim)
#        ROUNDS  rounds of every row (default 2)
#        ROWS    which rows (default "steady storm idle ramp ramp-pg cluster")
#        PG      Postgres server for ramp-pg (default postgres://postgres@127.0.0.1:5432)
#        NODE_ENV  extra VAR=value settings for the nodes of the storm and idle rows
set -euo pipefail
out=$1; shift
sim=${SIM:-target/release/baton-sim}
rounds=${ROUNDS:-2}
rows=${ROWS:-steady storm idle ramp ramp-pg cluster}
pg=${PG:-postgres://postgres@127.0.0.1:5432}
mkdir -p "$out"

run() { # NAME ROW ROUND ARGS...
  local name=$1 row=$2 round=$3; shift 3
  echo "$(date -u +%H:%M:%S) $row $name round $round (load $(cut -d' ' -f1 /proc/loadavg))" >&2
  "$sim" run "$@" --quiet --out "$out/$row-$name-$round" >/dev/null
}

# A connect storm against a node started here (not by the harness), so that the node's
# own CPU time can be read from /proc: the harness samples CPU once a second, too coarse
# for a storm that lasts one. The node's CPU ticks and RSS (KiB) are sampled every 0.1 s
# into ROW-NAME-ROUND.ticks (first line: ticks per second and devices); the table counts
# CPU from before the storm to its first quiet second (leaving out the harness's REST
# checks that follow the idle hold) and memory as the RSS then less the RSS before.
storm_with_cpu() { # NAME ROUND BIN USERS WINDOW ROW
  local name=$1 round=$2 bin=$3 users=$4 window=$5 row=$6
  local dir port pid sampler stat
  dir=$(mktemp -d)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  ulimit -n 20000
  BATON_LISTEN=127.0.0.1:$port BATON_DATA_DIR=$dir BATON_LOG__FILTER=warn \
  BATON_LIMITS__RATE_LIMIT_EVENTS=1000000 BATON_LIMITS__MAX_CONNECTIONS=200000 \
    env ${NODE_ENV:-} "$bin" serve > "$dir/out" 2>&1 &
  pid=$!
  until grep -q "listening" "$dir/out"; do
    kill -0 "$pid" 2>/dev/null || { cat "$dir/out" >&2; exit 1; }
    sleep 0.05
  done
  echo "$(getconf CLK_TCK) $(( users * 3 ))" > "$out/$row-$name-$round.ticks"
  (
    while read -r -a stat < "/proc/$pid/stat" && read -r -a statm < "/proc/$pid/statm"; do
      echo "$(( stat[13] + stat[14] )) $(( statm[1] * $(getconf PAGESIZE) / 1024 ))"
      sleep 0.1
    done 2>/dev/null >> "$out/$row-$name-$round.ticks"
  ) &
  sampler=$!
  run "$name" "$row" "$round" connect-storm --url "127.0.0.1:$port" --key "$dir/dev-signing-key.pem" \
    --users "$users" --connect-window "$window" --duration 3 --no-baseline
  kill -TERM "$pid"; wait "$pid" || true
  kill "$sampler" 2>/dev/null || true; wait "$sampler" 2>/dev/null || true
  rm -rf "$dir"
}

for round in $(seq 1 "$rounds"); do
  for row in $rows; do
    for spec in "$@"; do
      name=${spec%%=*}; bin=${spec#*=}
      case $row in
        steady) run "$name" steady "$round" steady --spawn "$bin" --users 500 --rate 4000 --duration 20 --no-baseline ;;
        storm) storm_with_cpu "$name" "$round" "$bin" 1000 0.2 storm ;;
        idle) storm_with_cpu "$name" "$round" "$bin" 6300 10 idle ;;
        ramp) run "$name" ramp "$round" ramp --spawn "$bin" --steps 1000,2000,5000,8000,12000,16000,20000,25000,30000,40000 --duration 6 --slo-ms 1000000 ;;
        ramp-pg)
          db="hotpath_${name}_${round}_$$"
          psql -q "$pg/postgres" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
          run "$name" ramp-pg "$round" ramp --spawn "$bin" --steps 1000,2000,5000,8000,12000,16000,20000,25000,30000,40000 --duration 6 --slo-ms 1000000 \
            --server-env "BATON_DATABASE_URL=$pg/$db"
          psql -q "$pg/postgres" -c "DROP DATABASE IF EXISTS $db" ;;
        cluster)
          run "$name" cluster1 "$round" steady --spawn "$bin" --spawn-cluster 1 --users 1000 --rate 2000 --duration 30 --no-baseline
          run "$name" cluster3 "$round" steady --spawn "$bin" --spawn-cluster 3 --users 1000 --rate 2000 --duration 30 --no-baseline ;;
        *) echo "unknown row $row" >&2; exit 2 ;;
      esac
    done
  done
done
