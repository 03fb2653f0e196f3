#!/usr/bin/env bash
# A Baton cluster on this machine, from the built binary, no containers.
#
#   deploy/local-cluster.sh [up]      start (foreground; Ctrl-C stops everything)
#   deploy/local-cluster.sh down      stop what `up` started (from another shell)
#   deploy/local-cluster.sh token ... mint a token every node accepts, e.g.
#                                     token --user alice --device tv
#
# `up` starts, unless given:
#   - Postgres: a throwaway server (initdb in a temp dir, a free port; as the `postgres` OS
#     user when run as root), or BATON_DATABASE_URL;
#   - Redis: a throwaway redis-server on a free port, or BATON_REDIS_URL;
#   - one development signing key, made once with `baton token`: the nodes trust its public
#     half through auth.public-key-file, so a token minted with it works on every node;
#   - nodes node-1..N on 127.0.0.1:7601.. (HTTP) and 127.0.0.1:7946.. (UDP gossip), all
#     seeded with node-1's gossip address; waits until each answers /health/ready.
# Logs go to a directory it prints (kept after `down`); temp data is removed.
#
# Environment:
#   BATON_BIN              the baton binary (default: cargo build --release, then use it)
#   BATON_DATABASE_URL     an existing Postgres instead of the throwaway one
#   BATON_REDIS_URL        an existing Redis instead of the throwaway one
#   BATON_PG_BIN           Postgres binaries (default: newest /usr/lib/postgresql/*/bin)
#   BATON_REDIS_BIN        redis-server (default: redis-server on PATH)
#   LOCAL_NODES            number of nodes (default 3)
#   LOCAL_HTTP_PORT        HTTP port of node-1; node-i uses +i-1 (default 7601)
#   LOCAL_GOSSIP_PORT      gossip port of node-1; node-i uses +i-1 (default 7946)
#   LOCAL_CLUSTER          1 (default): pass the [cluster] settings; 0: leave them out and
#                          run independent nodes that share Postgres, Redis and the key
#   LOCAL_READY_TIMEOUT    seconds to wait for each node's /health/ready (default 60)
#   Other BATON_* variables (e.g. BATON_LOG__FILTER=debug) reach every node unchanged.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE_FILE="${TMPDIR:-/tmp}/baton-local-cluster.state"
NODES=${LOCAL_NODES:-3}
HTTP_PORT=${LOCAL_HTTP_PORT:-7601}
GOSSIP_PORT=${LOCAL_GOSSIP_PORT:-7946}
CLUSTER=${LOCAL_CLUSTER:-1}
READY_TIMEOUT=${LOCAL_READY_TIMEOUT:-60}
# Guards the nodes' internal endpoints (warm handoff); one per run unless given.
CLUSTER_SECRET=${BATON_CLUSTER__SECRET:-$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')}

log() { printf '%s\n' "local-cluster: $*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# ---------------------------------------------------------------------------------------
# The node's configuration. Adjust here: everything a node gets is in these two functions.

# Environment of node $1 (1-based), one VAR=value per line.
node_env() {
  local i=$1
  local http=$((HTTP_PORT + i - 1)) gossip=$((GOSSIP_PORT + i - 1))
  echo "BATON_NODE_ID=node-$i"
  echo "BATON_LISTEN=127.0.0.1:$http"
  echo "BATON_DATA_DIR=$RUN_DIR/node-$i"
  echo "BATON_DATABASE_URL=$DATABASE_URL"
  echo "BATON_REDIS_URL=$REDIS_URL"
  echo "BATON_AUTH__PUBLIC_KEY_FILE=$KEY_DIR/public.pem"
  echo "BATON_LOG__FORMAT=${BATON_LOG__FORMAT:-json}"
  if [[ $CLUSTER == 1 ]]; then
    echo "BATON_CLUSTER__ENABLED=true"
    echo "BATON_CLUSTER__CLUSTER_ID=baton-local"
    echo "BATON_CLUSTER__GOSSIP_LISTEN=127.0.0.1:$gossip"
    echo "BATON_CLUSTER__GOSSIP_ADVERTISE=127.0.0.1:$gossip"
    echo "BATON_CLUSTER__API_ADVERTISE=127.0.0.1:$http"
    echo "BATON_CLUSTER__SEEDS=[127.0.0.1:$GOSSIP_PORT]"
    echo "BATON_CLUSTER__SECRET=$CLUSTER_SECRET"
    echo "BATON_CLUSTER__DRAIN_TIMEOUT_SECS=${BATON_CLUSTER__DRAIN_TIMEOUT_SECS:-10}"
  fi
}

# The command line of every node (after `env <node_env>`).
node_cmd() {
  printf '%s\n' "$BIN" serve
}

# ---------------------------------------------------------------------------------------
# Bookkeeping: what runs and what to delete, in $STATE_FILE, so `down` works from another
# shell. Lines: `owner <pid> <comm>` (the `up` process), `proc <order> <pid> <comm> <name>`,
# `dir <path>` (removed at the end), `logs <dir>`, `keydir <dir>`, `bin <path>`.

record() { printf '%s\n' "$*" >>"$STATE_FILE"; }

# True when $1 is alive (not a zombie) and its /proc comm is $2 (guards against a reused pid).
alive_as() {
  local pid=$1 comm=$2 actual stat
  actual=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ $actual == "$comm" && ${stat%% *} != Z ]]
}

# Sends $2 to the processes of order $1 and waits up to $3 s, then SIGKILLs.
stop_order() {
  local order=$1 signal=$2 timeout=$3 kind o pid comm name
  local -a pids=() comms=() names=()
  while read -r kind o pid comm name; do
    [[ $kind == proc && $o == "$order" ]] || continue
    if alive_as "$pid" "$comm"; then
      kill "-$signal" "$pid" 2>/dev/null || true
      pids+=("$pid") comms+=("$comm") names+=("$name")
    fi
  done <"$STATE_FILE"
  ((${#pids[@]})) || return 0
  local deadline=$((SECONDS + timeout)) k
  for k in "${!pids[@]}"; do
    while alive_as "${pids[k]}" "${comms[k]}" && ((SECONDS < deadline)); do sleep 0.2; done
    if alive_as "${pids[k]}" "${comms[k]}"; then
      log "${names[k]} (pid ${pids[k]}) did not stop in ${timeout}s: SIGKILL"
      kill -KILL "${pids[k]}" 2>/dev/null || true
    fi
  done
}

# Stops everything in the state file (nodes, then Redis, then Postgres) and removes the
# temp dirs. Idempotent; `up`'s trap and `down` both use it.
teardown() {
  [[ -f $STATE_FILE ]] || return 0
  stop_order 1 TERM "${LOCAL_STOP_TIMEOUT:-40}" # nodes drain on SIGTERM
  stop_order 2 TERM 10                          # redis-server
  stop_order 3 INT 15                           # postgres: fast shutdown
  local kind path
  while read -r kind path _; do
    [[ $kind == dir && -n $path && $path == */baton-local* ]] && rm -rf -- "$path"
  done <"$STATE_FILE"
  local logs
  logs=$(awk '$1 == "logs" { print $2 }' "$STATE_FILE")
  rm -f -- "$STATE_FILE"
  log "stopped; logs kept in $logs"
}

# ---------------------------------------------------------------------------------------
# Ports and readiness.

# True when nothing accepts TCP connections on 127.0.0.1:$1.
tcp_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A TCP port nothing listens on (probed; may be taken by the time it is used).
free_port() {
  local port tries=0
  while ((tries++ < 100)); do
    port=$((20000 + RANDOM % 20000))
    if tcp_free "$port"; then
      echo "$port"
      return 0
    fi
  done
  die "no free port found"
}

# Waits until $1 (a command) succeeds, pid $3 (comm $4) stays alive, up to $2 seconds.
wait_until() {
  local check=$1 timeout=$2 pid=$3 comm=$4 deadline=$((SECONDS + $2))
  until eval "$check"; do
    alive_as "$pid" "$comm" || return 2
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# ---------------------------------------------------------------------------------------
# Services.

pg_bin_dir() {
  if [[ -n ${BATON_PG_BIN:-} ]]; then
    echo "$BATON_PG_BIN"
    return
  fi
  local dir
  dir=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin 2>/dev/null | sort -V | tail -n 1)
  [[ -n $dir && -x $dir/initdb ]] || die "no Postgres binaries (install Debian's postgresql, or set BATON_PG_BIN or BATON_DATABASE_URL)"
  echo "$dir"
}

start_postgres() {
  local bin dir port run_as=()
  bin=$(pg_bin_dir)
  dir=$(mktemp -d "${TMPDIR:-/tmp}/baton-local-pg.XXXXXX")
  record "dir $dir"
  if ((EUID == 0)); then
    id -u postgres >/dev/null 2>&1 || die "running as root needs the postgres OS user"
    chown postgres:postgres "$dir"
    run_as=(setpriv "--reuid=$(id -u postgres)" "--regid=$(id -g postgres)" --clear-groups --)
  fi
  "${run_as[@]}" "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale --no-sync \
    >"$LOG_DIR/initdb.log" 2>&1 || die "initdb failed: $LOG_DIR/initdb.log"
  port=$(free_port)
  # setsid: its own process group, so Ctrl-C reaches only this script, which then stops the
  # nodes before the store. setpriv and setsid exec in place: $! is postgres itself.
  setsid "${run_as[@]}" "$bin/postgres" -D "$dir/data" -k "$dir" -h 127.0.0.1 -p "$port" \
    -c max_connections=200 </dev/null >"$LOG_DIR/postgres.log" 2>&1 &
  local pid=$!
  record "proc 3 $pid postgres postgres"
  wait_until "'$bin/pg_isready' -q -h 127.0.0.1 -p $port -U postgres -t 1" 30 "$pid" postgres ||
    die "postgres did not start: $LOG_DIR/postgres.log"
  "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres baton || die "createdb failed"
  DATABASE_URL="postgres://postgres@127.0.0.1:$port/baton"
  log "postgres: $DATABASE_URL (pid $pid)"
}

start_redis() {
  local bin=${BATON_REDIS_BIN:-redis-server} port
  command -v "$bin" >/dev/null || die "no $bin (install Debian's redis-server, or set BATON_REDIS_URL)"
  port=$(free_port)
  setsid "$bin" --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
    </dev/null >"$LOG_DIR/redis.log" 2>&1 &
  local pid=$!
  record "proc 2 $pid redis-server redis"
  wait_until "! tcp_free $port" 15 "$pid" redis-server ||
    die "redis-server did not start: $LOG_DIR/redis.log"
  REDIS_URL="redis://127.0.0.1:$port/"
  log "redis: $REDIS_URL (pid $pid)"
}

# The shared key: `baton token` creates <dir>/dev-signing-key.pem on first use; the nodes
# get only its public half (auth.public-key-file), each with its own data dir.
make_key() {
  command -v openssl >/dev/null || die "openssl is needed to extract the public key"
  mkdir -p "$KEY_DIR"
  env -u BATON_CONFIG -u BATON_AUTH__JWKS_URL -u BATON_AUTH__JWKS_FILE -u BATON_AUTH__PUBLIC_KEY_FILE \
    BATON_DATA_DIR="$KEY_DIR" BATON_LOG__FILTER=warn \
    "$BIN" token --user local-cluster --device setup --ttl 60s >/dev/null ||
    die "baton token could not create the development key"
  openssl pkey -in "$KEY_DIR/dev-signing-key.pem" -pubout -out "$KEY_DIR/public.pem" 2>/dev/null ||
    die "openssl could not read $KEY_DIR/dev-signing-key.pem"
}

# The BATON_* variables this shell passes on to a node that node_env does not set
# (one VAR=value per line; the script's own BATON_BIN, BATON_PG_BIN, BATON_REDIS_BIN
# are not node settings).
inherited_env() {
  local name
  local -A set_here=()
  for name in "$@"; do set_here[${name%%=*}]=1; done
  for name in $(compgen -e); do
    case $name in
      BATON_BIN | BATON_PG_BIN | BATON_REDIS_BIN) ;;
      BATON_*) [[ -n ${set_here[$name]:-} ]] || printf '%s=%s\n' "$name" "${!name}" ;;
    esac
  done
}

start_node() {
  local i=$1 pid
  local -a env_vars inherited cmd
  mapfile -t env_vars < <(node_env "$i")
  mapfile -t inherited < <(inherited_env "${env_vars[@]}")
  mapfile -t cmd < <(node_cmd)
  mkdir -p "$RUN_DIR/node-$i"
  # node-N.cmd restarts the node exactly as started: inherited settings included.
  {
    printf '# %s\n' "$(date -u +%FT%TZ)"
    printf '%q ' env "${inherited[@]}" "${env_vars[@]}" "${cmd[@]}"
    echo
  } >"$LOG_DIR/node-$i.cmd"
  setsid env "${env_vars[@]}" "${cmd[@]}" </dev/null >"$LOG_DIR/node-$i.log" 2>&1 &
  pid=$!
  record "proc 1 $pid baton node-$i"
  log "node-$i: pid $pid, http://127.0.0.1:$((HTTP_PORT + i - 1)), log $LOG_DIR/node-$i.log"
}

wait_ready() {
  local i=$1 pid url status
  pid=$(awk -v n="node-$i" '$1 == "proc" && $5 == n { print $3 }' "$STATE_FILE")
  url="http://127.0.0.1:$((HTTP_PORT + i - 1))/health/ready"
  status=0
  wait_until "curl -fs -o /dev/null --max-time 2 '$url'" "$READY_TIMEOUT" "$pid" baton || status=$?
  if ((status != 0)); then
    if ((status == 2)); then
      log "node-$i exited; last lines of $LOG_DIR/node-$i.log:"
    else
      log "node-$i not ready after ${READY_TIMEOUT}s; last lines of $LOG_DIR/node-$i.log:"
    fi
    tail -n 20 "$LOG_DIR/node-$i.log" >&2 || true
    exit 1
  fi
}

build() {
  if [[ -n ${BATON_BIN:-} ]]; then
    [[ -x $BATON_BIN ]] || die "BATON_BIN=$BATON_BIN is not executable"
    BIN=$(cd "$(dirname "$BATON_BIN")" && pwd)/$(basename "$BATON_BIN")
    return
  fi
  log "building: cargo build --release -p baton-runtime --bin baton"
  (cd "$ROOT" && cargo build --release -p baton-runtime --bin baton)
  BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/baton"
  [[ $BIN == /* ]] || BIN="$ROOT/$BIN"
}

# ---------------------------------------------------------------------------------------
# Subcommands.

up() {
  if [[ -f $STATE_FILE ]]; then
    die "a local cluster is already recorded in $STATE_FILE: run '$0 down' first"
  fi
  command -v curl >/dev/null || die "curl is needed for the readiness checks"
  ((NODES >= 1)) || die "LOCAL_NODES must be >= 1"
  local i
  for ((i = 1; i <= NODES; i++)); do
    tcp_free $((HTTP_PORT + i - 1)) || die "port $((HTTP_PORT + i - 1)) is in use (set LOCAL_HTTP_PORT)"
  done
  build

  RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/baton-local-run.XXXXXX")
  LOG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/baton-local-logs.XXXXXX")
  KEY_DIR="$RUN_DIR/key"
  : >"$STATE_FILE"
  record "owner $$ $(cat "/proc/$$/comm")"
  record "dir $RUN_DIR"
  record "logs $LOG_DIR"
  record "keydir $KEY_DIR"
  record "bin $BIN"
  trap 'teardown' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  log "logs: $LOG_DIR"

  if [[ -n ${BATON_DATABASE_URL:-} ]]; then
    DATABASE_URL=$BATON_DATABASE_URL
  else
    start_postgres
  fi
  if [[ -n ${BATON_REDIS_URL:-} ]]; then
    REDIS_URL=$BATON_REDIS_URL
  else
    start_redis
  fi
  make_key
  for ((i = 1; i <= NODES; i++)); do start_node "$i"; done
  for ((i = 1; i <= NODES; i++)); do wait_ready "$i"; done

  echo
  echo "Baton local cluster: $NODES nodes ready ($([[ $CLUSTER == 1 ]] && echo "cluster settings on" || echo "LOCAL_CLUSTER=0: independent nodes"))"
  for ((i = 1; i <= NODES; i++)); do
    echo "  node-$i  http://127.0.0.1:$((HTTP_PORT + i - 1))  ws://127.0.0.1:$((HTTP_PORT + i - 1))/v1/sync  gossip 127.0.0.1:$((GOSSIP_PORT + i - 1))/udp"
  done
  echo "  store    $DATABASE_URL"
  echo "  redis    $REDIS_URL"
  echo "  logs     $LOG_DIR"
  echo
  echo "A token every node accepts:"
  echo "  TOKEN=\$($0 token --user alice --device tv)"
  echo "  curl -H \"Authorization: Bearer \$TOKEN\" http://127.0.0.1:$HTTP_PORT/v1/users/alice/state"
  echo "Stop: Ctrl-C here, or '$0 down' from another shell."

  # Foreground until Ctrl-C or until every node is gone (e.g. `down`). A node that exits
  # is reported, the others keep running (kill one on purpose to watch a failover).
  local -A reported=()
  while :; do
    local running=0 kind o pid comm name
    [[ -f $STATE_FILE ]] || break
    while read -r kind o pid comm name; do
      [[ $kind == proc && $o == 1 ]] || continue
      if alive_as "$pid" "$comm"; then
        running=$((running + 1))
      elif [[ -z ${reported[$name]:-} ]]; then
        reported[$name]=1
        log "$name (pid $pid) exited; see $LOG_DIR/$name.log"
      fi
    done <"$STATE_FILE"
    ((running > 0)) || break
    sleep 1
  done
}

# Asks the `up` process to stop (it tears down itself), or tears down what it left.
down() {
  [[ -f $STATE_FILE ]] || {
    log "nothing recorded in $STATE_FILE"
    return 0
  }
  local owner comm
  read -r owner comm < <(awk '$1 == "owner" { print $2, $3 }' "$STATE_FILE")
  if [[ -n $owner ]] && alive_as "$owner" "$comm"; then
    log "asking the up process (pid $owner) to stop"
    kill -TERM "$owner"
    local deadline=$((SECONDS + ${LOCAL_STOP_TIMEOUT:-40} + 30))
    while [[ -f $STATE_FILE ]] && ((SECONDS < deadline)); do sleep 0.2; done
    [[ ! -f $STATE_FILE ]] || die "the up process (pid $owner) did not finish; run '$0 down' again"
    log "stopped"
  else
    teardown
  fi
}

token() {
  [[ -f $STATE_FILE ]] || die "no local cluster running ($STATE_FILE missing): '$0 up' first"
  local key_dir bin
  key_dir=$(awk '$1 == "keydir" { print $2 }' "$STATE_FILE")
  bin=$(awk '$1 == "bin" { print $2 }' "$STATE_FILE")
  env -u BATON_CONFIG -u BATON_AUTH__JWKS_URL -u BATON_AUTH__JWKS_FILE -u BATON_AUTH__PUBLIC_KEY_FILE \
    BATON_DATA_DIR="$key_dir" BATON_LOG__FILTER=warn "$bin" token "$@"
}

case "${1:-up}" in
  up) up ;;
  down | stop) down ;;
  token)
    shift
    token "$@"
    ;;
  -h | --help | help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' ;;
  *) die "unknown subcommand '$1' (up, down, token, help)" ;;
esac
