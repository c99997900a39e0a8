#!/usr/bin/env bash
# Private Docker engine + registries for dockhand's integration/e2e tests (DESIGN.md §4).
#
#   scripts/test-services.sh install            apt-get install the Debian packages if any is missing
#   scripts/test-services.sh start [PIECE…]     start the pieces that are not running (default: all)
#   scripts/test-services.sh stop [PIECE…]      stop exactly the processes recorded by `start` (default: all)
#   scripts/test-services.sh status [PIECE…]    one line per piece; exit 0 when every piece named answers
#   scripts/test-services.sh env                print the environment the tests need (eval "$(... env)")
#
# PIECEs: dockerd, registry (127.0.0.1:5000, no auth), auth-registry (127.0.0.1:5001, htpasswd basic auth, user
# `dockhand`, a random password kept in $DIR/auth-registry.password and printed by `env`). Each piece is started only
# when its recorded process is not running, so `start auth-registry` never touches an engine others are using.
#
# Everything lives under $DOCKHAND_TEST_DIR (default /tmp/dockhand-test); every address is 127.0.0.1.
#
# Findings on Debian 12 (docker.io 20.10.24, containerd 1.6.20, docker-registry 2.8.2):
# - containerd: nothing to start separately. Without --containerd, dockerd launches its own *managed*
#   containerd as a child (`containerd --config <exec-root>/containerd/containerd.toml`) and stops it on
#   shutdown. BUT if a system containerd socket exists (/run/containerd/containerd.sock, e.g. on a machine
#   where systemd started docker.io's units) dockerd uses that one instead, so we also pass a private
#   --containerd-namespace/--containerd-plugins-namespace to never collide with the system dockerd ("moby").
# - networking with --bridge=none: there is no default "bridge" network; a plain `docker run` works but the
#   container only has `lo`, and `-p 127.0.0.1:X:Y` is accepted yet SILENTLY IGNORED (nothing listens).
#   To reach a port a container listens on, either
#     * run it with `--network host` (NetworkMode: 'host') and make it bind 127.0.0.1:<port> — simplest, or
#     * create a user-defined bridge network (`docker network create t`; creates a br-* link on the host) and
#       publish with `-p 127.0.0.1:X:Y`: this works here via docker-proxy (userland proxy) even with
#       --iptables=false. Remove the network afterwards.
# - PID 1 on these machines does not reap orphans promptly: a stopped daemon can linger as a zombie, so
#   liveness checks below look at /proc/<pid>/stat state, not just `kill -0`.
# - dockerd leaves an nsfs bind mount at <exec-root>/netns/default after exit; `stop` unmounts it so the
#   directory can be deleted.
# - registry basic auth (the auth-registry piece): docker-registry's `auth.htpasswd` only accepts bcrypt entries,
#   so the file is generated with `htpasswd -Bin` (password on stdin, not in argv) from `apache2-utils`. The
#   engine speaks plain HTTP to 127.0.0.1:5001 and sends the credentials although it is not in --insecure-registry:
#   dockerd treats 127.0.0.0/8 as insecure by default (`docker info` → RegistryConfig.InsecureRegistryCIDRs is
#   ["127.0.0.0/8"]; verified on docker.io 20.10.24), so the auth registry needs no dockerd restart.
#   docker-registry reads the htpasswd file once at start. Debian's packaged /etc/docker/registry/config.yml
#   enables htpasswd auth and listens on :5000 — we never use that config.
set -euo pipefail

DIR=${DOCKHAND_TEST_DIR:-/tmp/dockhand-test}
SOCK="$DIR/docker.sock"
REGISTRY_ADDR=127.0.0.1:5000
WAIT_SECONDS=${DOCKHAND_TEST_WAIT_SECONDS:-60}
AUTH_REGISTRY_ADDR=127.0.0.1:5001
AUTH_REGISTRY_USER=dockhand
PACKAGES=(docker.io docker-registry busybox-static curl git apache2-utils)
PIECES=(dockerd registry auth-registry)

DOCKERD_PID_FILE="$DIR/dockerd.pid"          # written by us ($!)
DOCKERD_OWN_PID_FILE="$DIR/dockerd.own.pid"  # dockerd's --pidfile (removed by dockerd on exit)
REGISTRY_PID_FILE="$DIR/registry.pid"
DOCKERD_LOG="$DIR/dockerd.log"
REGISTRY_LOG="$DIR/registry.log"
REGISTRY_CONFIG="$DIR/registry.yml"
AUTH_REGISTRY_PID_FILE="$DIR/auth-registry.pid"
AUTH_REGISTRY_LOG="$DIR/auth-registry.log"
AUTH_REGISTRY_CONFIG="$DIR/auth-registry.yml"
AUTH_REGISTRY_HTPASSWD="$DIR/auth-registry.htpasswd"
AUTH_REGISTRY_PASSWORD_FILE="$DIR/auth-registry.password"

log() { echo "test-services: $*" >&2; }

# alive PID NAME: process exists, is not a zombie and its command is NAME (guards against PID reuse)
alive() {
  local pid=$1 name=$2 stat comm
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
  comm=${stat#*(}; comm=${comm%)*}
  local state=${stat##*) }; state=${state%% *}
  [[ $state != Z && $comm == "$name" ]]
}

read_pid() { [[ -s $1 ]] && cat "$1" || true; }

dockerd_answers() { curl -sf -m 2 --unix-socket "$SOCK" http://localhost/_ping >/dev/null 2>&1; }
registry_answers() { curl -sf -m 2 "http://$REGISTRY_ADDR/v2/" >/dev/null 2>&1; }
# the auth registry answers /v2/ with 401 and a Basic challenge to a request without credentials
auth_registry_answers() {
  local headers
  headers=$(curl -s -m 2 -o /dev/null -D - "http://$AUTH_REGISTRY_ADDR/v2/" 2>/dev/null) || return 1
  [[ $headers == "HTTP/1.1 401"* ]] && grep -qi '^www-authenticate: basic' <<<"$headers"
}

install_packages() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
  done
  if ((${#missing[@]} == 0)); then
    log "packages already installed: ${PACKAGES[*]}"
    return 0
  fi
  log "installing ${missing[*]}"
  local sudo=()
  if [[ $(id -u) != 0 ]]; then
    command -v sudo >/dev/null || { log "need root (or sudo) to apt-get install ${missing[*]}"; return 1; }
    sudo=(sudo -n)
  fi
  # Keep the packages' own services (system dockerd on /var/run/docker.sock, a registry on :5000 that
  # would take our port) from being started by the postinst scripts.
  local policy=/usr/sbin/policy-rc.d created_policy=0
  if [[ ! -e $policy ]]; then
    "${sudo[@]}" sh -c "printf '#!/bin/sh\\nexit 101\\n' >$policy && chmod +x $policy" && created_policy=1
  fi
  local rc=0 t0=$SECONDS
  { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } </dev/null || rc=$?
  if ((created_policy)); then "${sudo[@]}" rm -f "$policy"; fi
  log "apt-get update + install took $((SECONDS - t0))s (status $rc)"
  return $rc
}

require_binaries() {
  local b
  for b in dockerd docker-registry curl; do
    command -v "$b" >/dev/null || { log "$b not found; run: $0 install"; exit 1; }
  done
}

fail_with_logs() {
  log "ERROR: $*"
  local f
  for f in "$DOCKERD_LOG" "$REGISTRY_LOG" "$AUTH_REGISTRY_LOG"; do
    [[ -f $f ]] || continue
    echo "----- last lines of $f -----" >&2
    tail -n 25 "$f" >&2
  done
  exit 1
}

start_dockerd() {
  local pid
  pid=$(read_pid "$DOCKERD_PID_FILE")
  if alive "$pid" dockerd; then
    log "dockerd already running (pid $pid)"
    return 0
  fi
  if dockerd_answers; then
    log "ERROR: something answers on $SOCK but it is not the dockerd recorded in $DOCKERD_PID_FILE"
    exit 1
  fi
  mkdir -p "$DIR/docker-data" "$DIR/docker-exec"
  : >"$DOCKERD_LOG"
  # setsid: own session, so Ctrl-C in the calling terminal / the CI step does not reach the daemon;
  # stdin from /dev/null so it never holds the caller's terminal; 9>&- so it does not inherit our lock.
  setsid dockerd \
    --host "unix://$SOCK" \
    --data-root "$DIR/docker-data" \
    --exec-root "$DIR/docker-exec" \
    --pidfile "$DOCKERD_OWN_PID_FILE" \
    --bridge=none --iptables=false --ip-masq=false \
    --insecure-registry "$REGISTRY_ADDR" \
    --containerd-namespace dockhand-test \
    --containerd-plugins-namespace dockhand-test-plugins \
    </dev/null >>"$DOCKERD_LOG" 2>&1 9>&- &
  echo $! >"$DOCKERD_PID_FILE"
  log "started dockerd (pid $!)"
}

start_registry() {
  local pid
  pid=$(read_pid "$REGISTRY_PID_FILE")
  if alive "$pid" docker-registry; then
    log "docker-registry already running (pid $pid)"
    return 0
  fi
  if registry_answers || (: </dev/tcp/127.0.0.1/5000) 2>/dev/null; then
    log "ERROR: port 5000 on 127.0.0.1 is taken by another process (a system docker-registry service? try: systemctl stop docker-registry)"
    command -v ss >/dev/null && ss -ltnp 'sport = :5000' >&2
    exit 1
  fi
  mkdir -p "$DIR/registry-data"
  cat >"$REGISTRY_CONFIG" <<EOF
version: 0.1
log:
  level: info
  fields:
    service: dockhand-test-registry
storage:
  filesystem:
    rootdirectory: $DIR/registry-data
  delete:
    enabled: true
http:
  addr: $REGISTRY_ADDR
EOF
  : >"$REGISTRY_LOG"
  setsid docker-registry serve "$REGISTRY_CONFIG" </dev/null >>"$REGISTRY_LOG" 2>&1 9>&- &
  echo $! >"$REGISTRY_PID_FILE"
  log "started docker-registry (pid $!)"
}

start_auth_registry() {
  local pid
  pid=$(read_pid "$AUTH_REGISTRY_PID_FILE")
  if alive "$pid" docker-registry; then
    log "auth docker-registry already running (pid $pid)"
    return 0
  fi
  if (: </dev/tcp/127.0.0.1/5001) 2>/dev/null; then
    log "ERROR: port 5001 on 127.0.0.1 is taken by another process"
    command -v ss >/dev/null && ss -ltnp 'sport = :5001' >&2
    exit 1
  fi
  command -v htpasswd >/dev/null || { log "htpasswd not found; run: $0 install"; exit 1; }
  mkdir -p "$DIR/auth-registry-data"
  # One password per directory, kept across restarts so a running test's environment stays valid.
  if [[ ! -s $AUTH_REGISTRY_PASSWORD_FILE ]]; then
    (umask 077 && head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' >"$AUTH_REGISTRY_PASSWORD_FILE")
  fi
  (umask 077 && htpasswd -Bin "$AUTH_REGISTRY_USER" <"$AUTH_REGISTRY_PASSWORD_FILE" >"$AUTH_REGISTRY_HTPASSWD")
  cat >"$AUTH_REGISTRY_CONFIG" <<EOF
version: 0.1
log:
  level: info
  fields:
    service: dockhand-test-auth-registry
storage:
  filesystem:
    rootdirectory: $DIR/auth-registry-data
  delete:
    enabled: true
auth:
  htpasswd:
    realm: dockhand-test
    path: $AUTH_REGISTRY_HTPASSWD
http:
  addr: $AUTH_REGISTRY_ADDR
EOF
  : >"$AUTH_REGISTRY_LOG"
  setsid docker-registry serve "$AUTH_REGISTRY_CONFIG" </dev/null >>"$AUTH_REGISTRY_LOG" 2>&1 9>&- &
  echo $! >"$AUTH_REGISTRY_PID_FILE"
  log "started auth docker-registry (pid $!)"
}

# piece_* PIECE: what each piece is called, how it answers, where its pid is recorded
piece_answers() {
  case $1 in
    dockerd) dockerd_answers ;;
    registry) registry_answers ;;
    auth-registry) auth_registry_answers ;;
  esac
}
piece_pid_file() {
  case $1 in
    dockerd) echo "$DOCKERD_PID_FILE" ;;
    registry) echo "$REGISTRY_PID_FILE" ;;
    auth-registry) echo "$AUTH_REGISTRY_PID_FILE" ;;
  esac
}
piece_process() { [[ $1 == dockerd ]] && echo dockerd || echo docker-registry; }
piece_where() {
  case $1 in
    dockerd) echo "dockerd on $SOCK" ;;
    registry) echo "registry on http://$REGISTRY_ADDR/v2/" ;;
    auth-registry) echo "auth registry on http://$AUTH_REGISTRY_ADDR/v2/" ;;
  esac
}

# select_pieces PIECE…: the named pieces in start order (all when none is named); exits on an unknown name
select_pieces() {
  local p q known
  for p in "$@"; do
    known=0
    for q in "${PIECES[@]}"; do [[ $p == "$q" ]] && known=1; done
    ((known)) || { log "unknown piece '$p' (pieces: ${PIECES[*]})"; exit 2; }
  done
  for q in "${PIECES[@]}"; do
    if (($# == 0)); then echo "$q"; continue; fi
    for p in "$@"; do [[ $p == "$q" ]] && { echo "$q"; break; }; done
  done
}

wait_ready() {
  local deadline=$((SECONDS + WAIT_SECONDS)) waiting=("$@") still p
  while ((SECONDS < deadline)); do
    still=()
    for p in "${waiting[@]}"; do piece_answers "$p" || still+=("$p"); done
    ((${#still[@]} == 0)) && return 0
    waiting=("${still[@]}")
    for p in "${waiting[@]}"; do
      alive "$(read_pid "$(piece_pid_file "$p")")" "$(piece_process "$p")" || fail_with_logs "$p exited during startup"
    done
    sleep 0.1
  done
  local what=()
  for p in "${waiting[@]}"; do what+=("$(piece_where "$p")"); done
  fail_with_logs "not answering after ${WAIT_SECONDS}s: ${what[*]}"
}

cmd_start() {
  local pieces p
  mapfile -t pieces < <(select_pieces "$@")
  ((${#pieces[@]})) || exit 2
  require_binaries
  mkdir -p "$DIR"
  # serialize concurrent `start`/`stop` calls (several test runs on one machine)
  exec 9>"$DIR/.lock"
  flock -w 120 9 || { log "could not lock $DIR/.lock"; exit 1; }
  local t0=$EPOCHREALTIME
  for p in "${pieces[@]}"; do
    case $p in
      dockerd) start_dockerd ;;
      registry) start_registry ;;
      auth-registry) start_auth_registry ;;
    esac
  done
  wait_ready "${pieces[@]}"
  log "ready in $(awk "BEGIN{printf \"%.2f\", $EPOCHREALTIME - $t0}")s (${pieces[*]}) — DOCKER_HOST=unix://$SOCK registry=$REGISTRY_ADDR auth registry=$AUTH_REGISTRY_ADDR"
}

# stop_pid FILE NAME [TIMEOUT]: SIGTERM the recorded pid, wait, SIGKILL if it does not exit
stop_pid() {
  local file=$1 name=$2 timeout=${3:-30} pid
  pid=$(read_pid "$file")
  if ! alive "$pid" "$name"; then
    rm -f "$file"
    return 0
  fi
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + timeout))
  while alive "$pid" "$name" && ((SECONDS < deadline)); do sleep 0.1; done
  if alive "$pid" "$name"; then
    log "$name (pid $pid) did not exit after ${timeout}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    while alive "$pid" "$name"; do sleep 0.1; done
  fi
  rm -f "$file"
}

cmd_stop() {
  local pieces p i
  mapfile -t pieces < <(select_pieces "$@")
  ((${#pieces[@]})) || exit 2
  [[ -d $DIR ]] || return 0
  exec 9>"$DIR/.lock"
  flock -w 120 9 || { log "could not lock $DIR/.lock"; exit 1; }
  # registries first, the engine last
  for ((i = ${#pieces[@]} - 1; i >= 0; i--)); do
    p=${pieces[i]}
    case $p in
      auth-registry) stop_pid "$AUTH_REGISTRY_PID_FILE" docker-registry 10 ;;
      registry) stop_pid "$REGISTRY_PID_FILE" docker-registry 10 ;;
      dockerd) stop_dockerd ;;
    esac
  done
  log "stopped ${pieces[*]}"
}

stop_dockerd() {
  # dockerd stops running containers (its shutdown timeout is 15s) and its managed containerd
  stop_pid "$DOCKERD_PID_FILE" dockerd 40
  # if dockerd had to be SIGKILLed, its managed containerd may survive: it recorded its own pid
  stop_pid "$DIR/docker-exec/containerd/containerd.pid" containerd 10
  # dockerd leaves a bind mount of the host netns behind; drop mounts under our directory only
  local m
  awk -v d="$DIR/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
}

cmd_status() {
  local pieces p ok=0
  mapfile -t pieces < <(select_pieces "$@")
  ((${#pieces[@]})) || exit 2
  for p in "${pieces[@]}"; do
    if piece_answers "$p"; then echo "$p: up (pid $(read_pid "$(piece_pid_file "$p")"))"; else echo "$p: down"; ok=1; fi
  done
  return $ok
}

cmd_env() {
  echo "export DOCKER_HOST=unix://$SOCK DOCKHAND_TEST_REGISTRY=$REGISTRY_ADDR"
  # the auth registry's address and credentials, once `start` has made them (the password is alphanumeric)
  if [[ -s $AUTH_REGISTRY_PASSWORD_FILE ]]; then
    echo "export DOCKHAND_TEST_AUTH_REGISTRY=$AUTH_REGISTRY_ADDR DOCKHAND_TEST_AUTH_REGISTRY_USER=$AUTH_REGISTRY_USER" \
      "DOCKHAND_TEST_AUTH_REGISTRY_PASSWORD=$(cat "$AUTH_REGISTRY_PASSWORD_FILE")"
  fi
}

command=${1:-}
shift || true
case "$command" in
  install) install_packages ;;
  start) cmd_start "$@" ;;
  stop) cmd_stop "$@" ;;
  status) cmd_status "$@" ;;
  env) cmd_env ;;
  *)
    echo "usage: $0 install | start|stop|status [${PIECES[*]}…] | env" >&2
    exit 2
    ;;
esac
