# Sourced after common.sh and redis.sh. start_redis_tls makes throw-away certificates with openssl and starts two
# redis-servers that speak only TLS, on free loopback ports from 16580, stopped on exit:
#   STASH_REDIS_TLS_URL    one-way TLS (a client certificate is optional):
#                          rediss://127.0.0.1:PORT/0?tls_ca=…&tls_server_name=localhost
#   STASH_REDIS_MTLS_URL   mutual TLS (a client certificate is required): the same, with tls_cert and tls_key
#   STASH_TLS_DIRECTORY    the certificates: ca.pem (which signed the rest), server.pem/server.key (for the name
#                          localhost only, not for 127.0.0.1), client.pem/client.key, other-ca.pem (a CA that signed
#                          nothing here)
make_tls_files() {
    local dir=$1
    mkdir -p "$dir"
    (
        cd "$dir"
        local key="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
        # shellcheck disable=SC2086 # $key is several options
        openssl req -x509 $key -days 2 -subj "/CN=Stash test CA" -keyout ca.key -out ca.pem 2>/dev/null
        # shellcheck disable=SC2086
        openssl req -x509 $key -days 2 -subj "/CN=Another CA" -keyout other-ca.key -out other-ca.pem 2>/dev/null
        # shellcheck disable=SC2086
        openssl req $key -subj "/CN=localhost" -keyout server.key -out server.csr 2>/dev/null
        printf 'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n' >server.ext
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile server.ext \
            -out server.pem 2>/dev/null
        # shellcheck disable=SC2086
        openssl req $key -subj "/CN=stash client" -keyout client.key -out client.csr 2>/dev/null
        printf 'extendedKeyUsage=clientAuth\n' >client.ext
        openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile client.ext \
            -out client.pem 2>/dev/null
    )
}

start_redis_tls() {
    ensure_package openssl openssl
    local dir="$scratch/tls"
    make_tls_files "$dir"
    local server cli
    server=$(command -v redis-server)
    cli=$(command -v redis-cli)
    local files=(--tls-cert-file "$dir/server.pem" --tls-key-file "$dir/server.key" --tls-ca-cert-file "$dir/ca.pem")
    resp_cli_args=(--tls --cacert "$dir/ca.pem" --cert "$dir/client.pem" --key "$dir/client.key")
    start_resp_server redis-tls "$server" "$cli" 16580 "--port 0 --tls-port" "${files[@]}" --tls-auth-clients optional
    export STASH_REDIS_TLS_URL="rediss://127.0.0.1:$resp_port/0?tls_ca=$dir/ca.pem&tls_server_name=localhost"
    local tls_port=$resp_port
    start_resp_server redis-mtls "$server" "$cli" $((resp_port + 1)) "--port 0 --tls-port" "${files[@]}" --tls-auth-clients yes
    export STASH_REDIS_MTLS_URL="rediss://127.0.0.1:$resp_port/0?tls_ca=$dir/ca.pem&tls_server_name=localhost&tls_cert=$dir/client.pem&tls_key=$dir/client.key"
    export STASH_TLS_DIRECTORY="$dir"
    resp_cli_args=()
    echo "==> redis-server over TLS on 127.0.0.1:$tls_port, mutual TLS on 127.0.0.1:$resp_port"
}
