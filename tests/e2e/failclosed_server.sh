#!/usr/bin/env bash
# End-to-end checks for issue 12, items 14-16: `cutover serve` fails closed.
#   - a badly framed request over a raw socket gets 400 and its connection
#     is closed, so the request smuggled behind it is never answered;
#   - a second `cutover serve` on a port already served exits 3, "address
#     in use" (no SO_REUSEPORT sharing);
#   - a tokens file group or others may read is refused (chmod 600), and so
#     is a base URL with user info or a backslash.
# tests/failclosed_server_test.cc covers each framing case; this suite drives
# the real binary.
#
#   tests/e2e/failclosed_server.sh [BIN]
#
# Needs bash, curl, jq, sha256sum, timeout, tail, mkfifo. Nothing sleeps to
# synchronise: the server prints its address first, and a read waits for the
# server to close the connection.
# shellcheck disable=SC2317,SC2031
set -u

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$root/tests/e2e/lib.sh"

e2e_binary failclosed_server.sh "${1:-}" curl jq sha256sum timeout tail mkfifo
for v in $(compgen -e | grep '^OA_ROUTE_SPLIT_' || true); do unset "$v"; done
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY

# raw_exchange BYTES: sends BYTES (printf format) on a new connection and
# reads until the server closes it; sets RAW (what came back, CRs removed).
raw_exchange() {
    raw_connect 7
    # shellcheck disable=SC2059
    printf "$1" >&7
    RAW="$(timeout 20 cat <&7 | tr -d '\r')"
    exec 7>&-
}

SMUGGLED='GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'

# expect_400_only LABEL: RAW holds one 400 answer and nothing else.
expect_400_only() {
    assert_eq 1 "$(grep -o 'HTTP/1.1 [0-9]' <<<"$RAW" | wc -l)" "$1: one answer"
    assert_contains "$RAW" "HTTP/1.1 400 Bad Request"
    assert_contains "$RAW" "Connection: close"
    assert_contains "$RAW" '"code":"invalid_request"'
    if [[ "$RAW" == *'"status":"ready"'* ]]; then _e2e_fail "$1: the smuggled request was answered"; fi
}

test_badly_framed_requests_get_400_and_the_connection_closes() {
    write_setup
    start_server
    local evaluate='POST /api/v1/control/route-split/evaluate HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer '"$VIEW_TOKEN"'\r\n'
    raw_exchange "$evaluate"'Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'"$SMUGGLED"
    expect_400_only "CL and TE"
    assert_contains "$RAW" "both Content-Length and Transfer-Encoding"
    raw_exchange "$evaluate"'Content-Length: 0\r\nContent-Length: 16\r\n\r\n{"path":"/chat"}'"$SMUGGLED"
    expect_400_only "differing CL"
    raw_exchange "$evaluate"'Content-Length: 16x\r\n\r\n{"path":"/chat"}'"$SMUGGLED"
    expect_400_only "CL not digits"
    raw_exchange "$evaluate"'Transfer-Encoding: chunked\r\n\r\n10zz\r\n{"path":"/chat"}\r\n0\r\n\r\n'"$SMUGGLED"
    expect_400_only "bad chunk size"
    raw_exchange 'GET /healthz HTTP/1.1\nHost: x\n\n'"$SMUGGLED"
    expect_400_only "bare LF"
    # A GET's body is framed by its Content-Length, never read as a request.
    raw_exchange 'GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 33\r\n\r\nGET /readyz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
    assert_eq 2 "$(grep -o 'HTTP/1.1 200 OK' <<<"$RAW" | wc -l)" "GET with a body: two answers"
    if [[ "$RAW" == *'"status":"ready"'* ]]; then _e2e_fail "the GET's body was answered as a request"; fi
    # The server goes on serving other connections.
    req GET /healthz
    assert_eq 200 "$CODE"
    stop_server
}

test_a_second_server_on_the_same_port_exits_3() {
    write_setup
    start_server
    cutover serve --config "$TEST_TMP/routes.json" --listen "$ADDR" --state-dir "$TEST_TMP/state2"
    assert_eq 3 "$RC" "exit status of the second server"
    assert_contains "$ERR" "cannot listen on $ADDR: address in use"
    assert_eq "" "$OUT" "the second server never said it was listening"
    req GET /healthz
    assert_eq 200 "$CODE" "the first server still answers"
    stop_server
}

test_a_tokens_file_others_may_read_is_refused() {
    write_setup
    chmod 644 "$TEST_TMP/tokens.txt"
    cutover serve --config "$TEST_TMP/routes.json" --listen 127.0.0.1:0 --state-dir "$TEST_TMP/state"
    assert_eq 2 "$RC"
    assert_contains "$ERR" "tokens file $TEST_TMP/tokens.txt is readable or writable by group or others (mode 0644)"
    assert_contains "$ERR" "chmod 600 $TEST_TMP/tokens.txt"
    assert_eq "" "$OUT"
    chmod 600 "$TEST_TMP/tokens.txt"
    start_server
    stop_server
}

test_a_base_url_with_user_info_or_backslash_is_refused() {
    write_setup '{"legacy_base_url": "https://legacy.example.test@evil.example", "tokens_file": "tokens.txt"}'
    cutover serve --config "$TEST_TMP/routes.json" --listen 127.0.0.1:0 --state-dir "$TEST_TMP/state"
    assert_eq 2 "$RC"
    assert_contains "$ERR" "legacy_base_url"
    assert_contains "$ERR" "user info"
    write_setup '{"rust_base_url": "https://evil.example\\legacy.example.test", "tokens_file": "tokens.txt"}'
    cutover serve --config "$TEST_TMP/routes.json" --listen 127.0.0.1:0 --state-dir "$TEST_TMP/state"
    assert_eq 2 "$RC"
    assert_contains "$ERR" "rust_base_url"
    write_setup
    OA_ROUTE_SPLIT_LEGACY_BASE_URL='https://a@evil.example' cutover routes status --config "$TEST_TMP/routes.json"
    assert_eq 2 "$RC"
    assert_contains "$ERR" "OA_ROUTE_SPLIT_LEGACY_BASE_URL"
    assert_contains "$ERR" "user info"
}

for t in $(declare -F | awk '{print $3}' | grep '^test_'); do
    run_test "$t"
done
finish_tests
