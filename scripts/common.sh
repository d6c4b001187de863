# Shared by the scripts in this folder (sourced, not run): a scratch directory removed on exit, background server
# processes stopped on exit, and Debian packages installed when a command is missing.

scratch=$(mktemp -d -t stash.XXXXXX)
pids=()
# Commands run at exit before the scratch directory goes (e.g. `pg_ctl stop`); append with `on_exit "…"`.
exit_commands=()
on_exit() { exit_commands+=("$1"); }
cleanup() {
    for command in "${exit_commands[@]}"; do eval "$command" || true; done
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$scratch"
}
trap cleanup EXIT

# Installs Debian packages when a command is missing: ensure_package COMMAND PACKAGE...
ensure_package() {
    local command=$1
    shift
    if ! command -v "$command" >/dev/null 2>&1; then
        echo "==> installing $* (apt-get)"
        if [ "$(id -u)" -ne 0 ]; then
            echo "error: $command is missing and installing it needs root: apt-get install -y $*" >&2
            exit 1
        fi
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
    fi
}

# Starts the stash-demo binary $demo in the background with the given arguments (its output in $scratch/demo.log,
# written afresh) and waits until it announces the port it listens on: sets demo_pid and port. Pass `--port 0` for
# a free port.
start_demo() {
    "$demo" "$@" >"$scratch/demo.log" 2>&1 &
    demo_pid=$!
    pids+=("$demo_pid")
    port=
    for _ in $(seq 1 600); do
        port=$(sed -n 's|^stash-demo listening on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$scratch/demo.log" | head -n 1)
        [ -n "$port" ] && return 0
        if ! kill -0 "$demo_pid" 2>/dev/null; then break; fi
        sleep 0.05
    done
    echo "error: stash-demo did not start; its output:" >&2
    tail -n 20 "$scratch/demo.log" >&2
    exit 1
}
