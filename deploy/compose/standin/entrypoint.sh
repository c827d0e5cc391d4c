#!/bin/sh
# Entrypoint of the CI stand-in images (deploy/compose/standin/Dockerfile): postgres | redis, then the command.
set -eu
what="$1"
shift
case "$what" in
  postgres)
    chown postgres:postgres "$PGDATA"
    chmod 700 "$PGDATA"
    as_pg() { setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; }
    if [ ! -s "$PGDATA/PG_VERSION" ]; then
      : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}"
      user="${POSTGRES_USER:-postgres}"
      pw="$(mktemp)"
      printf '%s' "$POSTGRES_PASSWORD" >"$pw"
      chown postgres "$pw"
      as_pg initdb -D "$PGDATA" -U "$user" --pwfile="$pw" --auth-local=trust --auth-host=scram-sha-256 >/dev/null
      rm -f "$pw"
      echo 'host all all all scram-sha-256' >>"$PGDATA/pg_hba.conf"
      as_pg pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
      as_pg psql -v ON_ERROR_STOP=1 -qU "$user" -d postgres -c "CREATE DATABASE \"${POSTGRES_DB:-$user}\""
      as_pg pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
      echo "[stand-in postgres] initialised $PGDATA (database ${POSTGRES_DB:-$user}, owner $user)"
    fi
    exec setpriv --reuid=postgres --regid=postgres --init-groups -- postgres -D "$PGDATA" -c listen_addresses='*' "$@"
    ;;
  redis)
    [ "${1:-}" = redis-server ] && set -- "$@" --protected-mode no
    exec setpriv --reuid=redis --regid=redis --init-groups -- "$@"
    ;;
  *)
    echo "stand-in: unknown image $what" >&2
    exit 2
    ;;
esac
