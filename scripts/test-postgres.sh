#!/usr/bin/env bash
# A throwaway PostgreSQL for the store's test suite: start | stop | status | url.
# Debian's postgresql (installed when missing) runs as the `postgres` user on 127.0.0.1:55432, data under
# /tmp/dockhand-test/pg; `stop` stops only that cluster (pg_ctl on its own data directory).
set -euo pipefail

DIR=${DOCKHAND_TEST_DIR:-/tmp/dockhand-test}/pg
PORT=${DOCKHAND_TEST_PG_PORT:-55432}
URL="postgres://postgres@127.0.0.1:${PORT}/postgres"

bin_dir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
as_postgres() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$1"; else sh -c "$1"; fi; }

case "${1:-}" in
  start)
    if [ -z "$(bin_dir)" ]; then
      echo "installing postgresql"
      export DEBIAN_FRONTEND=noninteractive
      # Keep the package's own cluster from starting; a policy-rc.d the machine already has is left as it is.
      created_policy=0
      if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && created_policy=1
      fi
      rc=0
      { apt-get update -qq && apt-get install -y -qq postgresql >/dev/null; } || rc=$?
      if [ "$created_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
      [ "$rc" = 0 ] || exit "$rc"
    fi
    BIN=$(bin_dir)
    if [ -f "$DIR/data/postmaster.pid" ] && as_postgres "$BIN/pg_ctl -D $DIR/data status" >/dev/null 2>&1; then
      echo "postgres already running at $URL"; exit 0
    fi
    rm -rf "$DIR" && mkdir -p "$DIR"
    [ "$(id -u)" = 0 ] && chown postgres "$DIR"
    as_postgres "$BIN/initdb -D $DIR/data -A trust -U postgres >$DIR/initdb.log 2>&1"
    if ! as_postgres "$BIN/pg_ctl -D $DIR/data -o '-k $DIR -p $PORT -h 127.0.0.1' -l $DIR/server.log -w -t 60 start" >/dev/null; then
      echo "postgres did not start:"; tail -n 25 "$DIR/server.log" || true; exit 1
    fi
    echo "postgres at $URL"
    ;;
  stop)
    BIN=$(bin_dir)
    if [ -n "$BIN" ] && [ -f "$DIR/data/postmaster.pid" ]; then
      as_postgres "$BIN/pg_ctl -D $DIR/data -m fast -w stop" >/dev/null || true
    fi
    rm -rf "$DIR"
    ;;
  status)
    # exit 0 when this script's cluster runs (so a caller can reuse it and leave it running)
    BIN=$(bin_dir)
    if [ -n "$BIN" ] && [ -f "$DIR/data/postmaster.pid" ] && as_postgres "$BIN/pg_ctl -D $DIR/data status" >/dev/null 2>&1; then
      echo "postgres: up at $URL"
    else
      echo "postgres: down"; exit 1
    fi
    ;;
  url) echo "$URL" ;;
  *) echo "usage: $0 start|stop|status|url" >&2; exit 2 ;;
esac
