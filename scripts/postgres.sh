# A throw-away PostgreSQL cluster for the tests and benchmarks; sourced by scripts/test.sh and
# scripts/bench-postgres.sh (bash, `set -euo pipefail`).
#
#   start_postgres   installs PostgreSQL from Debian's packages when its server binaries are missing (apt-get;
#                    needs root), creates a cluster in a temporary directory (inside $scratch when the caller has
#                    one), starts it on the first free loopback port from 15432 with trust authentication, creates
#                    the role and database `stash`, and exports
#                      STASH_POSTGRES_URL=postgres://stash@127.0.0.1:PORT/stash
#                      STASH_POSTGRES_BIN=the directory of initdb, pg_ctl, psql and pgbench (for tests that run a
#                                         cluster of their own, and for pgbench)
#   stop_postgres    stops the cluster and removes its directory; safe to call when none was started.
#
# The server binaries are Debian's, found by absolute path (`pg_config --bindir`, else the newest
# /usr/lib/postgresql/*/bin): PATH may hold other copies, such as symbolic links in /usr/local/bin. PostgreSQL refuses
# to run as root, so as root the cluster belongs to, and runs as, the `postgres` user the package creates.

postgres_directory=""
postgres_bin=""

# Prints the directory holding initdb and pg_ctl, or fails.
find_postgres_bin() {
    local dir
    if command -v pg_config >/dev/null 2>&1; then
        dir=$(pg_config --bindir 2>/dev/null || true)
        if [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
            echo "$dir"
            return 0
        fi
    fi
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
            echo "$dir"
            return 0
        fi
    done
    return 1
}

# Runs a PostgreSQL program as the cluster's owner: `postgres` when we are root, ourselves otherwise.
as_postgres_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# The server's options on a port: loopback only, its socket in its directory, fsync off (throw-away data). The
# suite runs dozens of stores at once, each with a pool and shared lanes of its own: 1000 slots (500 ran out).
postgres_server_options() {
    echo "-c listen_addresses=127.0.0.1 -p $1 -k $postgres_directory -c max_connections=1000 -c fsync=off"
}

start_postgres() {
    if ! postgres_bin=$(find_postgres_bin); then
        echo "==> installing postgresql (apt-get)"
        if [ "$(id -u)" -ne 0 ]; then
            echo "error: PostgreSQL's server binaries are missing and installing them needs root: apt-get install -y postgresql" >&2
            exit 1
        fi
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
        postgres_bin=$(find_postgres_bin) || {
            echo "error: postgresql is installed but no initdb/pg_ctl was found under /usr/lib/postgresql" >&2
            exit 1
        }
    fi

    if [ -n "${scratch:-}" ]; then
        # The owner must be able to reach its directory through ours.
        chmod o+x "$scratch"
        postgres_directory="$scratch/postgres"
        mkdir -p "$postgres_directory"
    else
        postgres_directory=$(mktemp -d -t stash-postgres.XXXXXX)
        chmod o+x "$postgres_directory"
    fi
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres: "$postgres_directory"
    fi

    as_postgres_owner "$postgres_bin/initdb" -D "$postgres_directory/data" -U postgres --auth=trust -E UTF8 --no-locale \
        >"$postgres_directory/initdb.log" 2>&1 || {
        echo "error: initdb failed; its log:" >&2
        cat "$postgres_directory/initdb.log" >&2
        exit 1
    }

    local port
    postgres_port=""
    for port in $(seq 15432 15532); do
        # A port something else listens on makes the server fail to start: try the next one.
        if as_postgres_owner "$postgres_bin/pg_ctl" -D "$postgres_directory/data" -l "$postgres_directory/server.log" -w -t 30 \
            -o "$(postgres_server_options "$port")" \
            start >/dev/null 2>&1; then
            postgres_port=$port
            break
        fi
    done
    if [ -z "${postgres_port:-}" ]; then
        echo "error: could not start PostgreSQL on a loopback port; its log:" >&2
        cat "$postgres_directory/server.log" >&2 || true
        exit 1
    fi

    "$postgres_bin/psql" -q -X -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$postgres_port" -U postgres -d postgres \
        -c "CREATE ROLE stash LOGIN" -c "CREATE DATABASE stash OWNER stash" >/dev/null

    export STASH_POSTGRES_URL="postgres://stash@127.0.0.1:$postgres_port/stash"
    export STASH_POSTGRES_BIN="$postgres_bin"
    echo "==> PostgreSQL $("$postgres_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$postgres_port ($postgres_bin)"
}

stop_postgres() {
    if [ -n "$postgres_directory" ] && [ -d "$postgres_directory/data" ]; then
        as_postgres_owner "$postgres_bin/pg_ctl" -D "$postgres_directory/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    if [ -n "$postgres_directory" ]; then
        rm -rf "$postgres_directory"
    fi
    postgres_directory=""
}
