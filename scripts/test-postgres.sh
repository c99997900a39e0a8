#!/usr/bin/env bash
# A throwaway PostgreSQL for the store's test suite: start | stop | url.
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
      printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
      apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
      rm -f /usr/sbin/policy-rc.d
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
  url) echo "$URL" ;;
  *) echo "usage: $0 start|stop|url" >&2; exit 2 ;;
esac
