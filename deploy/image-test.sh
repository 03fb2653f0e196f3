#!/usr/bin/env bash
# deploy/image-test.sh: the node image built and run on this machine, which has a Docker
# engine but no image registry. Usage:
#
#   deploy/image-test.sh            # everything below (about 3 minutes once the binary is built)
#   deploy/image-test.sh single     # steps 1-5 only
#
#   1. a Debian bookworm base image from Debian's packages (debootstrap --variant=minbase
#      --include=libssl3,ca-certificates, docker import), unless $BATON_BASE_IMAGE exists;
#   2. the image: deploy/image/Dockerfile.prebuilt over the release binary built on the host
#      (the Rust toolchain is not in the base, and no registry can supply rust:*): a scratch
#      image with the binary, the shared libraries ldd finds for it and the loader (copied
#      from the base), CA roots, uid 10001, no shell; its size is printed, and the absence
#      of a shell and the user are checked;
#   3. a throwaway Postgres and redis-server on the host (free ports), one signing key;
#   4. one container (--network host) on Postgres: /health/ready, a device writes through a
#      WebSocket and gets its durable ack, a second device gets the delta;
#   5. SIGTERM: the node drains and the container exits 0;
#   6. three containers forming a cluster on the host network: every node sees three members,
#      a write on node 1 reaches a device on node 3, every node answers the same watchlist,
#      SIGTERM to node 2 exits 0 and the others keep serving.
#
# Variables: BATON_BIN (a built release binary; default: cargo build --release), BATON_IMAGE
# (tag, default baton:image-test), BATON_BASE_IMAGE (default baton-base:bookworm),
# BATON_PG_BIN (Postgres binaries), BATON_IMAGE_TEST_KEEP=1 (keep the work dir and logs).
# Needs: docker (a running dockerd), debootstrap (only to make the base), python3, openssl,
# curl, Postgres server binaries, redis-server. Run as root (debootstrap, Postgres as the
# postgres user through setpriv).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
IMAGE=${BATON_IMAGE:-baton:image-test}
BASE=${BATON_BASE_IMAGE:-baton-base:bookworm}
MODE=${1:-all}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/baton-image-test.XXXXXX")
chmod 0755 "$WORK" # Postgres runs as the postgres user under it
CONTAINERS=()
PIDS=()

log() { printf '%s\n' "image-test: $*" >&2; }
die() {
  log "FAILED: $*"
  exit 1
}

cleanup() {
  local status=$?
  local c
  for c in "${CONTAINERS[@]}"; do
    docker logs "$c" >"$WORK/$c.log" 2>&1 || true
    docker rm -f "$c" >/dev/null 2>&1 || true
  done
  local p
  for p in "${PIDS[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
  done
  if [[ ${BATON_IMAGE_TEST_KEEP:-0} == 1 || $status != 0 ]]; then
    log "work dir and logs kept in $WORK"
  else
    rm -rf -- "$WORK"
  fi
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_until() { # wait_until SECONDS DESCRIPTION COMMAND...
  local deadline=$((SECONDS + $1)) what=$2
  shift 2
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "$what (after ${deadline}s budget)"
    sleep 0.2
  done
}

# --- 1. base -------------------------------------------------------------------------
make_base() {
  if docker image inspect "$BASE" >/dev/null 2>&1; then
    log "base image $BASE exists"
    return
  fi
  command -v debootstrap >/dev/null || die "no debootstrap (apt-get install -y debootstrap)"
  log "making $BASE with debootstrap (minbase bookworm, libssl3, ca-certificates)"
  debootstrap --variant=minbase --include=libssl3,ca-certificates bookworm "$WORK/rootfs" \
    http://deb.debian.org/debian \
    >"$WORK/debootstrap.log" 2>&1 || die "debootstrap failed: $WORK/debootstrap.log"
  tar -C "$WORK/rootfs" -c . | docker import - "$BASE" >/dev/null
  rm -rf -- "$WORK/rootfs"
}

# --- 2. image ------------------------------------------------------------------------
build_image() {
  local bin=${BATON_BIN:-}
  if [[ -z $bin ]]; then
    log "building the release binary"
    (cd "$ROOT" && cargo build --release --locked -p baton-runtime --bin baton) >&2
    bin="${CARGO_TARGET_DIR:-$ROOT/target}/release/baton"
  fi
  [[ -x $bin ]] || die "no binary at $bin"
  BIN=$bin
  mkdir -p "$WORK/ctx"
  cp "$bin" "$WORK/ctx/baton"
  docker build -q -f "$ROOT/deploy/image/Dockerfile.prebuilt" --build-arg "BASE=$BASE" \
    -t "$IMAGE" "$WORK/ctx" >/dev/null || die "docker build failed"
  local size user
  size=$(docker image inspect -f '{{.Size}}' "$IMAGE")
  user=$(docker image inspect -f '{{.Config.User}}' "$IMAGE")
  log "image $IMAGE: $((size / 1024 / 1024)) MiB ($size bytes), user $user"
  [[ $user == 10001:10001 ]] || die "image user is '$user', not 10001:10001"
  if docker run --rm --entrypoint /bin/sh "$IMAGE" -c true >/dev/null 2>&1; then
    die "the image has a shell"
  fi
  docker run --rm "$IMAGE" --version >/dev/null || die "the binary does not run in the image"
}

# --- 3. dependencies -----------------------------------------------------------------
start_postgres() {
  local bin=${BATON_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
  [[ -x $bin/initdb ]] || die "no Postgres binaries (set BATON_PG_BIN)"
  local run_as=()
  mkdir -p "$WORK/pg"
  if ((EUID == 0)); then
    chown postgres:postgres "$WORK/pg"
    run_as=(setpriv "--reuid=$(id -u postgres)" "--regid=$(id -g postgres)" --clear-groups --)
  fi
  "${run_as[@]}" "$bin/initdb" -D "$WORK/pg/data" -U postgres -A trust --no-sync \
    >"$WORK/initdb.log" 2>&1 || die "initdb failed: $WORK/initdb.log"
  PG_PORT=$(free_port)
  "${run_as[@]}" "$bin/postgres" -D "$WORK/pg/data" -k "$WORK/pg" -h 127.0.0.1 -p "$PG_PORT" \
    </dev/null >"$WORK/postgres.log" 2>&1 &
  PIDS+=($!)
  wait_until 30 "postgres did not start" "$bin/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres
  "$bin/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres baton
  DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/baton"
}

start_redis() {
  REDIS_PORT=$(free_port)
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
    </dev/null >"$WORK/redis.log" 2>&1 &
  PIDS+=($!)
  wait_until 15 "redis-server did not start" bash -c "exec 3<>/dev/tcp/127.0.0.1/$REDIS_PORT"
  REDIS_URL="redis://127.0.0.1:$REDIS_PORT/"
}

make_key() {
  mkdir -p "$WORK/key"
  BATON_DATA_DIR="$WORK/key" BATON_LOG__FILTER=warn "$BIN" token --user probe --device probe \
    >/dev/null
  openssl pkey -in "$WORK/key/dev-signing-key.pem" -pubout -out "$WORK/key/public.pem"
  chmod 0644 "$WORK/key/public.pem"
}

mint() { BATON_DATA_DIR="$WORK/key" BATON_LOG__FILTER=warn "$BIN" token --user "$1" --device "$2"; }

# --- nodes ---------------------------------------------------------------------------
# run_node NAME HTTP_PORT [GOSSIP_PORT SEED_PORT]: one container on the host network.
run_node() {
  local name=$1 http=$2 gossip=${3:-} seed=${4:-}
  local env=(-e "BATON_NODE_ID=$name" -e "BATON_LISTEN=127.0.0.1:$http"
    -e "BATON_DATABASE_URL=$DATABASE_URL" -e "BATON_REDIS_URL=$REDIS_URL"
    -e "BATON_AUTH__PUBLIC_KEY_FILE=/keys/public.pem" -e "BATON_LOG__FORMAT=json")
  if [[ -n $gossip ]]; then
    env+=(-e BATON_CLUSTER__ENABLED=true -e BATON_CLUSTER__CLUSTER_ID=baton-image-test
      -e "BATON_CLUSTER__GOSSIP_LISTEN=127.0.0.1:$gossip"
      -e "BATON_CLUSTER__API_ADVERTISE=127.0.0.1:$http"
      -e "BATON_CLUSTER__SEEDS=[127.0.0.1:$seed]"
      -e "BATON_CLUSTER__SECRET=$CLUSTER_SECRET" -e BATON_CLUSTER__DRAIN_TIMEOUT_SECS=10)
  fi
  docker run -d --name "$name" --network host --read-only --tmpfs /tmp \
    --tmpfs /var/lib/baton:uid=10001,gid=10001 \
    -v "$WORK/key/public.pem:/keys/public.pem:ro" "${env[@]}" "$IMAGE" >/dev/null
  CONTAINERS+=("$name")
  wait_until 60 "$name not ready" curl -fsS "http://127.0.0.1:$http/health/ready"
}

# stop_node NAME [cluster]: SIGTERM, then the exit code must be 0 within 40 s (and a cluster
# node must have handed its users over).
stop_node() {
  local name=$1 started=$SECONDS code
  docker kill --signal TERM "$name" >/dev/null
  code=$(timeout 40 docker wait "$name") || die "$name did not exit within 40 s of SIGTERM"
  docker logs "$name" >"$WORK/$name.log" 2>&1
  grep -q '"stopped"' "$WORK/$name.log" || die "$name exited without its 'stopped' line"
  if [[ ${2:-} == cluster ]]; then
    grep -q 'handing users over' "$WORK/$name.log" || die "$name did not drain (no handover)"
  fi
  [[ $code == 0 ]] || die "$name exited with $code after SIGTERM"
  log "$name: SIGTERM -> drained, exit 0 in $((SECONDS - started)) s"
}

watchlist() { # watchlist PORT USER TOKEN -> "version:item,item"
  curl -fsS -H "Authorization: Bearer $3" "http://127.0.0.1:$1/v1/users/$2/watchlist" |
    python3 -c 'import json,sys; b=json.load(sys.stdin); print(str(b["version"])+":"+",".join(i["content"] for i in b["items"]))'
}

# --- 4-5. one node -------------------------------------------------------------------
single() {
  local port tv phone version
  port=$(free_port)
  run_node baton-it-single "$port"
  log "single node ready on 127.0.0.1:$port (Postgres)"
  tv=$(mint solo tv)
  phone=$(mint solo phone)
  version=$(python3 "$ROOT/deploy/image/device.py" sync "127.0.0.1:$port" "127.0.0.1:$port" \
    "$tv" "$phone" movie:1) || die "device sync through the container failed"
  log "a device synced through the container: acked at version $version, delta delivered"
  [[ $(watchlist "$port" solo "$tv") == *movie:1* ]] || die "REST read misses the write"
  stop_node baton-it-single
}

# --- 6. three nodes ------------------------------------------------------------------
cluster() {
  local h=() g=() i tv phone reads=() started
  for i in 1 2 3; do
    h+=("$(free_port)")
    g+=("$(free_port)")
  done
  CLUSTER_SECRET=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
  for i in 0 1 2; do run_node "baton-it-$((i + 1))" "${h[i]}" "${g[i]}" "${g[0]}"; done
  started=$SECONDS
  for i in 0 1 2; do
    wait_until 30 "node $((i + 1)) never saw 3 members" \
      bash -c "[[ \$(curl -fsS http://127.0.0.1:${h[i]}/metrics | awk '\$1 == \"baton_cluster_members\" {print \$2}') == 3 ]]"
  done
  log "three containers see three members ($((SECONDS - started)) s)"
  tv=$(mint duo tv)
  phone=$(mint duo phone)
  python3 "$ROOT/deploy/image/device.py" sync "127.0.0.1:${h[0]}" "127.0.0.1:${h[2]}" \
    "$tv" "$phone" movie:7 >/dev/null || die "a write on node 1 did not reach a device on node 3"
  for i in 0 1 2; do reads+=("$(watchlist "${h[i]}" duo "$tv")"); done
  [[ ${reads[0]} == *movie:7* && ${reads[0]} == "${reads[1]}" && ${reads[1]} == "${reads[2]}" ]] ||
    die "nodes disagree: ${reads[*]}"
  log "converged: every node answers ${reads[0]}"
  stop_node baton-it-2 cluster
  [[ $(watchlist "${h[0]}" duo "$tv") == *movie:7* ]] || die "node 1 stopped serving after node 2 left"
  [[ $(watchlist "${h[2]}" duo "$tv") == *movie:7* ]] || die "node 3 stopped serving after node 2 left"
  log "node 2 left; nodes 1 and 3 still serve"
  stop_node baton-it-1 cluster
  stop_node baton-it-3 cluster
}

docker info >/dev/null 2>&1 || die "no Docker engine (start dockerd)"
make_base
build_image
start_postgres
start_redis
make_key
single
[[ $MODE == single ]] || cluster
log "PASSED"
