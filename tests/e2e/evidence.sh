#!/usr/bin/env bash
# End-to-end suite for signed evidence and the phase gates (SPEC §7): `cutover
# keygen`, `cutover evidence collect|sign|verify`, `cutover gate
# status|advance|destructive` and `cutover drill`, driving the real binary on
# real files, with the openssl command line as the independent judge of every
# signature (both directions), and `cutover serve` on 127.0.0.1 as the real
# control server for the drill and the full walk of one group from expand to
# contract.
#
#   tests/e2e/evidence.sh [BIN]
#
# BIN defaults to build/cutover under the repository root. Needs bash, jq,
# openssl, sha256sum, base64, cmp, curl, mkfifo, timeout and tail. Nothing
# sleeps to synchronise: the server prints its address as its first line on a
# FIFO the test reads; the ledger lock test holds the lock itself with flock.
# shellcheck disable=SC2317,SC2031
set -u

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$root/tests/e2e/lib.sh"

e2e_binary evidence.sh "${1:-}" jq openssl sha256sum base64 cmp curl mkfifo timeout tail flock
unset AUTH_STORE_PATH CODEX_THREAD_STORE_PATH DOMAIN_STORE_PATH WORK_DIR
for v in $(compgen -e | grep '^OA_ROUTE_SPLIT_' || true); do unset "$v"; done
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY

PAYLOAD_TYPE="application/vnd.in-toto+json"
OP_TOKEN="operator-token-evidence-0123456789"

# --- helpers --------------------------------------------------------------------

# keys NAME...: cutover keygen --out $TEST_TMP/keys/NAME for each.
keys() {
    mkdir -p "$TEST_TMP/keys"
    local k
    for k in "$@"; do must keygen --out "$TEST_TMP/keys/$k"; done
}

# bundle DIR [COLLECT_ARGS...]: collects a bundle of $MANIFEST into DIR.
bundle() {
    local dir="$1"
    shift
    must evidence collect --manifest "$MANIFEST" --out "$dir" "$@"
}

# pae_of DIR OUT: the DSSE pre-authentication encoding of DIR/statement.json.
pae_of() {
    local len
    len="$(stat -c %s "$1/statement.json")"
    { printf 'DSSEv1 %d %s %d ' "${#PAYLOAD_TYPE}" "$PAYLOAD_TYPE" "$len"; cat "$1/statement.json"; } >"$2"
}

# sig_of DIR KEYID OUT: the raw signature by KEYID in DIR's envelope.
sig_of() {
    jq -r --arg k "$2" '.signatures[] | select(.keyid == $k) | .sig' "$1/statement.dsse.json" | base64 -d >"$3"
}

# keyid_of PUBKEY: what cutover calls the key's id, computed with openssl.
keyid_of() { openssl pkey -pubin -in "$1" -outform DER | tail -c 32 | sha256sum | cut -c1-64; }

# flip FILE OFFSET: flips the lowest bit of one byte in place.
flip() {
    local byte
    byte="$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')"
    printf "$(printf '\\%03o' $((byte ^ 1)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# samples GROUP [HOLD_SECONDS]: a canary samples file on stdout, every stage
# held HOLD seconds (default 600) with readings each minute at the edge of
# the reference thresholds (5xx 0.9%, p95 20% above the baseline). The window
# starts a second from now: the gates take only readings observed after the
# group's canary record.
samples() {
    jq -n --arg g "$1" --argjson hold "${2:-600}" '
      ((now | floor) + 1) as $t0
      | {schema: "cutover.canary_samples.v1", group: $g,
       samples: [ [5, 25, 50, 100] | to_entries[] | .key as $i | .value as $stage
                  | range(0; $hold + 1; 60) as $s
                  | {stage: $stage, time: (($t0 + $i * ($hold + 60) + $s) | todate),
                     requests: 1000, errors_5xx: 9, p95_ms: 120, baseline_p95_ms: 100} ]}'
}

# --- the control server -----------------------------------------------------------

# start_server: `cutover serve` on 127.0.0.1:0 with the reference matrix and
# an operator token; reads its address from the first line of its stdout.
start_server() {
    (umask 077 && printf 'operator drill sha256:%s\n' "$(printf '%s' "$OP_TOKEN" | sha256sum | cut -c1-64)" >"$TEST_TMP/tokens.txt")
    printf '%s\n' '{"mode": "rust", "tokens_file": "tokens.txt"}' >"$TEST_TMP/routes.json"
    mkfifo "$TEST_TMP/server.out"
    "$BIN" serve --config "$TEST_TMP/routes.json" --listen 127.0.0.1:0 --state-dir "$TEST_TMP/state" \
        >"$TEST_TMP/server.out" 2>"$TEST_TMP/server.err" &
    PID=$!
    exec 7<"$TEST_TMP/server.out"
    local line=""
    read -r -t 20 line <&7 || fatal "server did not print its address: $(cat "$TEST_TMP/server.err")"
    assert_match "$line" '^listening on 127\.0\.0\.1:[0-9]+$' "first line of serve"
    SERVER="http://${line#listening on }"
}

stop_server() {
    kill -TERM "$PID"
    timeout 15 tail -s 0.01 --pid="$PID" -f /dev/null || fatal "server did not exit"
    wait "$PID"
}

# override_of GROUP: the group's override on the server ("null" for none).
override_of() {
    curl -s --max-time 10 -H "Authorization: Bearer $OP_TOKEN" "$SERVER/api/v1/control/route-split/status" |
        jq -r --arg g "$1" '.data.domain_overrides[$g] // "null"'
}

set_override() {
    curl -s --max-time 10 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $OP_TOKEN" \
        -H 'Content-Type: application/json' --data-binary "{\"target\":\"$2\",\"domain\":\"$1\"}" \
        "$SERVER/api/v1/control/route-split/override"
}

# --- keys and signatures: the openssl cross-checks ---------------------------------

test_keygen_writes_openssl_pem_and_never_overwrites() {
    keys alice
    local k="$TEST_TMP/keys/alice"
    assert_eq 600 "$(stat -c %a "$k.key")" "private key mode"
    assert_eq "-----BEGIN PRIVATE KEY-----" "$(head -n1 "$k.key")" "PKCS#8 PEM"
    assert_eq "-----BEGIN PUBLIC KEY-----" "$(head -n1 "$k.pub")" "SPKI PEM"
    # The same bytes openssl writes for the same keys.
    assert_eq "$(cat "$k.key")" "$(openssl pkey -in "$k.key")" "private key as openssl pkey writes it"
    assert_eq "$(cat "$k.pub")" "$(openssl pkey -in "$k.key" -pubout)" "public key as openssl pkey -pubout writes it"
    assert_contains "$(openssl pkey -in "$k.key" -noout -text_pub)" "ED25519 Public-Key" "an ed25519 key"
    assert_contains "$OUT" "keyid:       $(keyid_of "$k.pub")" "keyid = sha256 of the raw public key"

    remember_file "$k.key" "$k.pub"
    cutover keygen --out "$k"
    assert_eq 1 "$RC" "keygen over an existing pair"
    assert_contains "$ERR" "alice.key already exists; cutover keygen never overwrites a key"
    assert_file_unchanged "$k.key"
    assert_file_unchanged "$k.pub"
    echo occupied >"$TEST_TMP/keys/bob.pub"
    cutover keygen --out "$TEST_TMP/keys/bob"
    assert_eq 1 "$RC" "keygen when only the .pub exists"
    assert_no_path "$TEST_TMP/keys/bob.key"
    cutover keygen --out "$TEST_TMP/nowhere/carol"
    assert_eq 2 "$RC" "keygen into a missing folder"
}

test_a_cutover_signature_verifies_with_openssl() {
    migrated
    keys alice
    bundle "$TEST_TMP/b"
    must evidence sign "$TEST_TMP/b" --key "$TEST_TMP/keys/alice.key"
    local id
    id="$(keyid_of "$TEST_TMP/keys/alice.pub")"
    assert_eq "$id" "$(jq -r '.signatures[0].keyid' "$TEST_TMP/b/statement.dsse.json")" "keyid in the envelope"
    assert_eq "$PAYLOAD_TYPE" "$(jq -r .payloadType "$TEST_TMP/b/statement.dsse.json")" "payloadType"
    jq -r .payload "$TEST_TMP/b/statement.dsse.json" | base64 -d >"$TEST_TMP/payload"
    assert_same_bytes "$TEST_TMP/b/statement.json" "$TEST_TMP/payload" "payload = statement.json's bytes"

    pae_of "$TEST_TMP/b" "$TEST_TMP/pae"
    sig_of "$TEST_TMP/b" "$id" "$TEST_TMP/sig"
    assert_eq 64 "$(stat -c %s "$TEST_TMP/sig")" "signature length"
    local v
    v="$(openssl pkeyutl -verify -pubin -inkey "$TEST_TMP/keys/alice.pub" -rawin -in "$TEST_TMP/pae" \
        -sigfile "$TEST_TMP/sig" 2>&1)"
    assert_eq 0 "$?" "openssl pkeyutl -verify: $v"
    assert_contains "$v" "Signature Verified Successfully"
    # openssl refuses it over a changed statement.
    flip "$TEST_TMP/pae" 200
    openssl pkeyutl -verify -pubin -inkey "$TEST_TMP/keys/alice.pub" -rawin -in "$TEST_TMP/pae" \
        -sigfile "$TEST_TMP/sig" >/dev/null 2>&1
    assert_eq 1 "$?" "openssl over a changed PAE"
}

test_an_openssl_key_signs_in_cutover() {
    migrated
    mkdir -p "$TEST_TMP/keys"
    openssl genpkey -algorithm ed25519 -out "$TEST_TMP/keys/ops.key" 2>/dev/null || fatal "openssl genpkey failed"
    openssl pkey -in "$TEST_TMP/keys/ops.key" -pubout -out "$TEST_TMP/keys/ops.pub" || fatal "openssl pkey -pubout failed"
    bundle "$TEST_TMP/b"
    must evidence sign "$TEST_TMP/b" --key "$TEST_TMP/keys/ops.key"
    local id
    id="$(keyid_of "$TEST_TMP/keys/ops.pub")"
    assert_contains "$OUT" "by key $id"
    # Verified by openssl ...
    pae_of "$TEST_TMP/b" "$TEST_TMP/pae"
    sig_of "$TEST_TMP/b" "$id" "$TEST_TMP/sig"
    openssl pkeyutl -verify -pubin -inkey "$TEST_TMP/keys/ops.pub" -rawin -in "$TEST_TMP/pae" -sigfile "$TEST_TMP/sig" >/dev/null
    assert_eq 0 "$?" "openssl verifies cutover's signature with the openssl key"
    # ... by an openssl signature over the same bytes (Ed25519 is deterministic) ...
    openssl pkeyutl -sign -inkey "$TEST_TMP/keys/ops.key" -rawin -in "$TEST_TMP/pae" -out "$TEST_TMP/osig"
    assert_same_bytes "$TEST_TMP/osig" "$TEST_TMP/sig" "openssl's signature of the PAE"
    # ... and by cutover with the openssl public key.
    cutover evidence verify "$TEST_TMP/b" --trust "$TEST_TMP/keys/ops.pub" --threshold 1
    assert_eq 0 "$RC" "cutover verifies with the openssl public key: $OUT"
    assert_contains "$OUT" "ok: signature by $id"

    # Keys that are not ed25519 are refused by name.
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$TEST_TMP/keys/ec.key" 2>/dev/null
    cutover evidence sign "$TEST_TMP/b" --key "$TEST_TMP/keys/ec.key"
    assert_eq 2 "$RC" "sign with an EC key"
    assert_contains "$ERR" "ed25519 keys only"
    cutover evidence verify "$TEST_TMP/b" --trust "$TEST_TMP/keys/ops.key"
    assert_eq 2 "$RC" "a private key as --trust"
    assert_contains "$ERR" "holds a private key"
}

# --- the bundle -------------------------------------------------------------------

test_collect_sign_verify_two_of_three() {
    migrated
    keys alice bob carol
    local K="$TEST_TMP/keys" B="$TEST_TMP/b"
    cutover evidence collect --manifest "$MANIFEST" --out "$B" --json
    assert_eq 0 "$RC" "collect: $ERR"
    assert_eq true "$(jq -r .ok <<<"$OUT")"
    assert_eq ran "$(jq -r .verification <<<"$OUT")" "collect ran verify itself"
    assert_eq "counts.json manifest.json statement.json verify-report.json" "$(cd "$B" && echo *)" "bundle files"
    assert_same_bytes "$MANIFEST" "$B/manifest.json" "the manifest, byte for byte"
    # The statement lists each file's sha256, exactly what sha256sum prints.
    local f
    for f in counts.json manifest.json verify-report.json; do
        assert_eq "$(sha256_of "$B/$f")" "$(jq -r --arg f "$f" '.subject[] | select(.name == $f) | .digest.sha256' "$B/statement.json")" "$f digest"
    done
    assert_eq "https://in-toto.io/Statement/v1" "$(jq -r ._type "$B/statement.json")"
    # Backup retention proof: path, size, sha256 of each backup.
    local auth_backup
    auth_backup="$(jq -r '.stores[] | select(.store == "auth") | .backup_path' "$MANIFEST")"
    assert_eq "$(stat -c %s "$auth_backup") $(sha256_of "$auth_backup") true" \
        "$(jq -r '.predicate.backups[] | select(.store == "auth") | "\(.size) \(.sha256) \(.retained)"' "$B/statement.json")" "auth backup proof"
    assert_eq "1 1 1" "$(jq -r '.stores[] | select(.store == "auth") | .counts | "\(.users) \(.sessions) \(.personal_access_tokens)"' "$B/counts.json")" "count snapshot"

    must evidence sign "$B" --key "$K/alice.key"
    cutover evidence verify "$B" --trust "$K/alice.pub" "$K/bob.pub" "$K/carol.pub" --threshold 2
    assert_eq 1 "$RC" "one signature, threshold 2"
    assert_contains "$OUT" "threshold not met: 1 of the required 2 distinct trusted keys"
    must evidence sign "$B" --key "$K/alice.key"
    cutover evidence verify "$B" --trust "$K/alice.pub" "$K/bob.pub" "$K/carol.pub" --threshold 2
    assert_eq 1 "$RC" "the same signer twice still counts once"
    must evidence sign "$B" --key "$K/carol.key"
    assert_contains "$OUT" "2 signature(s)"
    cutover evidence verify "$B" --trust "$K/alice.pub" "$K/bob.pub" "$K/carol.pub" --threshold 2 --check-backups
    assert_eq 0 "$RC" "2 of 3: $OUT"
    cutover evidence verify "$B" --trust "$K/alice.pub" "$K/bob.pub" "$K/carol.pub" --threshold 3 --json
    assert_eq 1 "$RC" "2 of 3 does not meet 3"
    assert_eq 2 "$(jq '.trusted_signers | length' <<<"$OUT")"
    # The same key pinned twice is one key.
    cutover evidence verify "$B" --trust "$K/alice.pub" "$K/alice.pub" --threshold 2
    assert_eq 2 "$RC" "a threshold that two copies of one key cannot meet"
    assert_contains "$ERR" "can never be met with 1 distinct trusted key(s)"
}

test_a_changed_byte_in_any_bundle_file_fails() {
    migrated
    keys alice
    local B="$TEST_TMP/b" T="$TEST_TMP/keys/alice.pub"
    bundle "$B"
    must evidence sign "$B" --key "$TEST_TMP/keys/alice.key"
    cutover evidence verify "$B" --trust "$T"
    assert_eq 0 "$RC" "untouched: $OUT"
    local f size at
    for f in counts.json manifest.json verify-report.json statement.json statement.dsse.json; do
        size="$(stat -c %s "$B/$f")"
        for at in 0 $((size / 3)) $((size / 2)) $((size - 2)); do
            cp -p "$B/$f" "$TEST_TMP/saved"
            flip "$B/$f" "$at"
            cutover evidence verify "$B" --trust "$T"
            assert_eq 1 "$RC" "$f with byte $at changed"
            assert_contains "$OUT" "evidence verify: FAILED" "$f byte $at"
            cp -p "$TEST_TMP/saved" "$B/$f"
        done
    done
    cp -p "$B/counts.json" "$TEST_TMP/saved"
    flip "$B/counts.json" 10
    cutover evidence verify "$B" --trust "$T"
    assert_contains "$OUT" "counts.json hashes to" "the reason names the file"
    assert_contains "$OUT" "the file was changed after it was collected"
    cp -p "$TEST_TMP/saved" "$B/counts.json"
    echo '{}' >"$B/extra.json"
    cutover evidence verify "$B" --trust "$T"
    assert_eq 1 "$RC" "an unlisted file"
    assert_contains "$OUT" "extra.json is in the bundle folder but not in the statement"
    rm "$B/extra.json"
    cutover evidence verify "$B" --trust "$T"
    assert_eq 0 "$RC" "restored: $OUT"
}

test_a_swapped_key_fails() {
    migrated
    keys alice bob mallory
    local B="$TEST_TMP/b" K="$TEST_TMP/keys"
    bundle "$B"
    must evidence sign "$B" --key "$K/alice.key"
    # The verifier's pinned key is swapped for another one.
    cutover evidence verify "$B" --trust "$K/bob.pub"
    assert_eq 1 "$RC" "signed by a key that is not trusted"
    assert_contains "$OUT" "is by key $(keyid_of "$K/alice.pub"), which is not among the trusted keys"
    # A signer's signature relabelled with a trusted key's id.
    must evidence sign "$B" --key "$K/mallory.key"
    jq --arg a "$(keyid_of "$K/alice.pub")" --arg b "$(keyid_of "$K/bob.pub")" \
        '.signatures |= map(if .keyid == $a then . else .keyid = $b end) | .signatures |= sort_by(.keyid)' \
        "$B/statement.dsse.json" >"$TEST_TMP/env"
    # Keep the canonical form (two-space indent, no trailing spaces) so only the keyid differs.
    jq --indent 2 . "$TEST_TMP/env" >"$B/statement.dsse.json"
    cutover evidence verify "$B" --trust "$K/alice.pub" "$K/bob.pub" --threshold 2
    assert_eq 1 "$RC" "mallory's signature under bob's keyid"
    assert_contains "$OUT" "by trusted key $(keyid_of "$K/bob.pub")"
    assert_contains "$OUT" "does not verify"
}

test_collect_records_a_failing_verification_and_verify_refuses_it() {
    migrated
    keys alice
    printf ' ' >>"$S/domain.json"  # written since the migration
    cutover evidence collect --manifest "$MANIFEST" --out "$TEST_TMP/b"
    assert_eq 1 "$RC" "collect of a failing verification"
    assert_contains "$OUT" "error: verification failed with 1 finding(s)"
    assert_eq false "$(jq -r .predicate.verification.ok "$TEST_TMP/b/statement.json")" "recorded in the statement"
    must evidence sign "$TEST_TMP/b" --key "$TEST_TMP/keys/alice.key"
    assert_contains "$ERR" "warning: the bundle records a failure"
    cutover evidence verify "$TEST_TMP/b" --trust "$TEST_TMP/keys/alice.pub"
    assert_eq 1 "$RC"
    assert_contains "$OUT" "the verification failed: verify-report.json has 1 finding(s)"
}

test_collect_takes_given_reports_and_refuses_bad_inputs() {
    migrated
    cutover verify "$MANIFEST" --json
    printf '%s\n' "$OUT" >"$TEST_TMP/report.json"
    printf '%s\n' '{"schema": "openagents.webparity.mixed_version_safety_harness.v1", "overall_status": "passed", "checks": []}' \
        >"$TEST_TMP/summary.json"
    samples billing_l402 >"$TEST_TMP/samples.json"
    bundle "$TEST_TMP/b" --verify-report "$TEST_TMP/report.json" --harness-summary "$TEST_TMP/summary.json" \
        --canary-samples "$TEST_TMP/samples.json" --release-train 2026.11-r1
    assert_same_bytes "$TEST_TMP/report.json" "$TEST_TMP/b/verify-report.json" "the given report"
    assert_eq "given 2026.11-r1 passed" \
        "$(jq -r '.predicate | "\(.verification.source) \(.release_train) \(.harness.overall_status)"' "$TEST_TMP/b/statement.json")"
    assert_eq "canary-samples.json counts.json harness-summary.json manifest.json statement.json verify-report.json" \
        "$(cd "$TEST_TMP/b" && echo *)"

    cutover evidence collect --manifest "$MANIFEST" --out "$TEST_TMP/b"
    assert_eq 2 "$RC" "collect into a bundle folder that is not empty"
    assert_contains "$ERR" "is not empty"
    echo '{"schema": "nope"}' >"$TEST_TMP/bad.json"
    cutover evidence collect --manifest "$MANIFEST" --out "$TEST_TMP/c" --drill-report "$TEST_TMP/bad.json"
    assert_eq 2 "$RC" "a drill report that is not one"
    assert_contains "$ERR" "is not a usable drill report"
    assert_no_path "$TEST_TMP/c"
}

# --- the ledger and the gates -----------------------------------------------------

test_ledger_chain_and_a_reordered_line() {
    local L="$TEST_TMP/ledger.jsonl"
    cutover gate status --ledger "$L"
    assert_eq 2 "$RC" "status of a ledger not yet made"
    assert_contains "$ERR" "does not exist"
    expand_evidence
    must gate advance billing_l402 expand --ledger "$L" --note "readers ship both shapes" --new-ledger "${EXPAND_ARGS[@]}"
    expand_evidence
    must gate advance Chat-Pilot expand --ledger "$L" "${EXPAND_ARGS[@]}"
    expand_evidence
    must gate advance auth_entry expand --ledger "$L" "${EXPAND_ARGS[@]}"
    assert_eq 3 "$(wc -l <"$L")" "three records"
    # Each line holds the sha256 of the line before it.
    assert_eq "$(sed -n 1p "$L" | tr -d '\n' | sha256sum | cut -c1-64)" "$(sed -n 2p "$L" | jq -r .prev_sha256)" "chain link"
    assert_eq "readers ship both shapes" "$(sed -n 1p "$L" | jq -r .note)"
    cutover gate status --ledger "$L" --json
    assert_eq 0 "$RC"
    assert_eq "billing_l402:expand chat_pilot:expand auth_entry:expand" "$(jq -r '[.groups[] | "\(.group):\(.phase)"] | join(" ")' <<<"$OUT")"

    cp "$L" "$TEST_TMP/saved"
    { sed -n 1p "$TEST_TMP/saved"; sed -n 3p "$TEST_TMP/saved"; sed -n 2p "$TEST_TMP/saved"; } >"$L"
    cutover gate status --ledger "$L"
    assert_eq 1 "$RC" "a reordered ledger"
    assert_contains "$ERR" "is broken at line 2: seq is 3, expected 2"
    cutover gate advance billing_l402 migrate --ledger "$L" --manifest /nonexistent
    assert_eq 1 "$RC" "no advance on a broken ledger"
    assert_contains "$ERR" "is broken at line 2"

    sed '2s/chat_pilot/auth_entry/' "$TEST_TMP/saved" >"$L"
    cutover gate status --ledger "$L"
    assert_eq 1 "$RC" "a changed line"
    assert_contains "$ERR" "line 3: prev_sha256"

    head -c -1 "$TEST_TMP/saved" >"$L"
    cutover gate status --ledger "$L" --json
    assert_eq 1 "$RC" "a torn last line"
    assert_eq false "$(jq -r .chain_ok <<<"$OUT")"
    assert_contains "$(jq -r .error <<<"$OUT")" "line 3: the last line is incomplete"

    cp "$TEST_TMP/saved" "$L"
    must gate status --ledger "$L"
}

test_the_ledger_lock_refuses_a_second_writer() {
    local L="$TEST_TMP/ledger.jsonl"
    expand_evidence
    must gate advance billing_l402 expand --ledger "$L" --new-ledger "${EXPAND_ARGS[@]}"
    remember_file "$L"
    (
        flock -n 9 || exit 99
        "$BIN" gate advance chat_pilot expand --ledger "$L" >"$TEST_TMP/o" 2>"$TEST_TMP/e" </dev/null
        echo "$?" >"$TEST_TMP/rc"
    ) 9>"$L.lock"
    assert_eq 1 "$(cat "$TEST_TMP/rc")" "advance while the lock is held"
    assert_contains "$(cat "$TEST_TMP/e")" "is locked by another cutover gate command"
    assert_file_unchanged "$L"
}

test_each_gate_refuses_and_names_the_missing_evidence() {
    migrated
    keys alice bob
    local L="$TEST_TMP/ledger.jsonl" K="$TEST_TMP/keys"
    cutover gate advance billing_l402 migrate --ledger "$L" --manifest "$MANIFEST"
    assert_eq 2 "$RC" "migrate into a ledger that does not exist"
    assert_no_path "$L"
    expand_evidence
    must gate advance billing_l402 expand --ledger "$L" --new-ledger "${EXPAND_ARGS[@]}"
    cutover gate advance auth_entry migrate --ledger "$L" --manifest "$MANIFEST"
    assert_eq 1 "$RC" "migrate before expand"
    assert_contains "$OUT" "missing: the phase order: group auth_entry has no record yet; the next phase is expand"
    cutover gate advance billing_l402 expand --ledger "$L"
    assert_eq 1 "$RC" "expand twice"
    assert_contains "$OUT" "is in phase expand; the next phase is migrate"
    cutover gate advance billing_l402 rollout --ledger "$L"
    assert_eq 2 "$RC" "an unknown phase"
    assert_contains "$ERR" "unknown phase 'rollout'; the phases are expand, migrate, verify, canary, cutover, contract"

    cutover gate advance billing_l402 migrate --ledger "$L"
    assert_eq 1 "$RC" "migrate without a manifest"
    assert_contains "$OUT" "missing: a complete manifest: pass --manifest"
    cp "$MANIFEST" "$TEST_TMP/incomplete.json"
    jq '.status = "in_progress"' "$MANIFEST" >"$TEST_TMP/incomplete.json"
    cutover gate advance billing_l402 migrate --ledger "$L" --manifest "$TEST_TMP/incomplete.json"
    assert_eq 1 "$RC" "migrate with an in-progress manifest"
    assert_contains "$OUT" "has status 'in_progress'"
    must gate advance billing_l402 migrate --ledger "$L" --manifest "$MANIFEST"

    cutover gate advance billing_l402 canary --ledger "$L"
    assert_eq 1 "$RC" "skipping verify"
    assert_contains "$OUT" "is in phase migrate; the next phase is verify"
    cp -p "$S/auth.json" "$TEST_TMP/auth.saved"
    printf ' ' >>"$S/auth.json"
    cutover gate advance billing_l402 verify --ledger "$L"
    assert_eq 1 "$RC" "verify with a drifted store"
    assert_contains "$OUT" "missing: a passing verification: the verify report has 1 finding(s)"
    cp -p "$TEST_TMP/auth.saved" "$S/auth.json"
    cutover verify "$MANIFEST" --json
    printf '%s\n' "$OUT" >"$TEST_TMP/report.json"
    cutover gate advance billing_l402 verify --ledger "$L" --verify-report "$TEST_TMP/report.json" --json
    assert_eq 0 "$RC" "verify with a passing report: $OUT"
    assert_eq given "$(jq -r .evidence.report_source <<<"$OUT")"

    cutover gate advance billing_l402 canary --ledger "$L"
    assert_eq 1 "$RC" "canary without a bundle"
    assert_contains "$OUT" "missing: a signed evidence bundle: pass --evidence DIR"
    assert_contains "$OUT" "missing: trusted keys"
    bundle "$TEST_TMP/b"
    cutover gate advance billing_l402 canary --ledger "$L" --evidence "$TEST_TMP/b" --trust "$K/alice.pub"
    assert_eq 1 "$RC" "canary with an unsigned bundle"
    assert_contains "$OUT" "the bundle is not signed"
    must evidence sign "$TEST_TMP/b" --key "$K/alice.key"
    cutover gate advance billing_l402 canary --ledger "$L" --evidence "$TEST_TMP/b" --trust "$K/alice.pub" "$K/bob.pub" --threshold 2
    assert_eq 1 "$RC" "canary below threshold"
    assert_contains "$OUT" "threshold not met: 1 of the required 2"
    must evidence sign "$TEST_TMP/b" --key "$K/bob.key"
    local backup
    backup="$(jq -r '.stores[0].backup_path' "$MANIFEST")"
    mv "$backup" "$TEST_TMP/backup.saved"
    cutover gate advance billing_l402 canary --ledger "$L" --evidence "$TEST_TMP/b" --trust "$K/alice.pub" "$K/bob.pub" --threshold 2
    assert_eq 1 "$RC" "canary with a backup gone since signing"
    assert_contains "$OUT" "is no longer retained"
    mv "$TEST_TMP/backup.saved" "$backup"
    must gate advance billing_l402 canary --ledger "$L" --evidence "$TEST_TMP/b" --trust "$K/alice.pub" "$K/bob.pub" --threshold 2

    # cutover: evidence of another release train than the canary's, then the unsigned kind.
    bundle "$TEST_TMP/other-train" --release-train 2026.12-r1
    must evidence sign "$TEST_TMP/other-train" --key "$K/alice.key"
    cutover gate advance billing_l402 cutover --ledger "$L" --evidence "$TEST_TMP/other-train" --trust "$K/alice.pub"
    assert_eq 1 "$RC" "cutover with another release train"
    assert_contains "$OUT" "missing: evidence from the canary's release train: the bundle is from '2026.12-r1'"
    cutover gate advance billing_l402 cutover --ledger "$L" --evidence "$TEST_TMP/b" --trust "$K/alice.pub"
    assert_eq 1 "$RC" "cutover with a signer the gate does not trust"
    assert_contains "$OUT" "which is not among the trusted keys"
    must gate advance billing_l402 cutover --ledger "$L" --evidence "$TEST_TMP/b" --trust "$K/alice.pub" "$K/bob.pub" --threshold 2

    cutover gate advance billing_l402 contract --ledger "$L" --evidence "$TEST_TMP/b" --trust "$K/alice.pub" "$K/bob.pub"
    assert_eq 1 "$RC" "contract without canary and drill"
    assert_contains "$OUT" "missing: a canary window: the bundle holds no canary samples"
    assert_contains "$OUT" "missing: a rollback drill: the bundle holds no drill report"
    samples billing_l402 300 >"$TEST_TMP/short.json"
    bundle "$TEST_TMP/c" --canary-samples "$TEST_TMP/short.json"
    must evidence sign "$TEST_TMP/c" --key "$K/alice.key"
    cutover gate advance billing_l402 contract --ledger "$L" --evidence "$TEST_TMP/c" --trust "$K/alice.pub"
    assert_eq 1 "$RC" "contract with a short canary"
    assert_contains "$OUT" "missing: a healthy canary window: stage 5%: held 300 s"
    cutover gate advance billing_l402 contract --ledger "$L" --evidence "$TEST_TMP/c" --trust "$K/alice.pub" --canary-hold 300
    assert_contains "$OUT" "missing: a rollback drill" "a shorter hold is configurable; the drill is still missing"
    assert_not_contains "$OUT" "healthy canary window"
    cutover gate status --ledger "$L" --json
    assert_eq cutover "$(jq -r '.groups[0].phase' <<<"$OUT")" "refusals recorded nothing"
    assert_eq 5 "$(wc -l <"$L")"

    cutover gate destructive --ledger "$L" --group billing_l402
    assert_eq 1 "$RC" "rule 5 before contract"
    assert_contains "$OUT" "is in phase cutover"
}

# --- the drill and the full walk, against a real control server -----------------------

test_drill_against_the_control_server() {
    migrated
    start_server
    printf '%s' "$OP_TOKEN" >"$TEST_TMP/token"
    assert_eq 200 "$(set_override billing_l402 rust)" "a standing override before the drill"
    remember_file "$S/auth.json" "$S/codex_threads.json" "$S/domain.json"
    cutover drill --manifest "$MANIFEST" --server "$SERVER" --token-file "$TEST_TMP/token" --group Billing-L402 \
        --out "$TEST_TMP/drill.json" --scratch "$TEST_TMP/scratch" --keep-restored
    assert_eq 0 "$RC" "drill: $OUT $ERR"
    assert_contains "$OUT" "drill: PASSED (group billing_l402"
    local R="$TEST_TMP/drill.json"
    assert_eq "true legacy legacy domain_override rust_shell rust_shell" \
        "$(jq -r '"\(.ok) \(.route_rollback.rollback_target) \(.route_rollback.decision.target) \(.route_rollback.decision.reason) \(.route_rollback.previous_override) \(.route_rollback.override_after)"' "$R")"
    assert_eq rust_shell "$(override_of billing_l402)" "the previous override is back"
    # The restored copies hash to before_sha256 and live in the scratch folder only.
    local k
    for k in auth codex_threads domain; do
        local restored
        restored="$(jq -r --arg k "$k" '.store_restore.stores[] | select(.store == $k) | .restored_path' "$R")"
        assert_eq "$TEST_TMP/scratch" "$(dirname "$restored")" "$k restored into the scratch folder"
        assert_eq "$(jq -r --arg k "$k" '.stores[] | select(.store == $k) | .before_sha256' "$MANIFEST")" "$(sha256_of "$restored")" "$k restored copy"
        assert_file_unchanged "$S/$k.json" "live $k store"
    done
    # The audit log saw the rollback and the restore.
    assert_eq "rollback rust_shell" "$(jq -r 'select(.event == "route.split.override.updated") | .target' "$TEST_TMP/state/audit.jsonl" | tail -n2 | tr '\n' ' ' | sed 's/ $//')"

    # A group the server does not know fails the drill (exit 1) and changes nothing.
    cutover drill --manifest "$MANIFEST" --server "$SERVER" --token "$OP_TOKEN" --group nowhere --out "$TEST_TMP/d2.json"
    assert_eq 1 "$RC" "drill of an unknown group"
    assert_contains "$OUT" "error: route_status: the control server has no route group 'nowhere'"
    assert_eq false "$(jq -r .ok "$TEST_TMP/d2.json")"
    # A token the server does not accept.
    cutover drill --manifest "$MANIFEST" --server "$SERVER" --token wrong --group billing_l402
    assert_eq 1 "$RC" "drill with a wrong token"
    assert_contains "$OUT" "HTTP 401"
    stop_server
    # No server at all.
    cutover drill --manifest "$MANIFEST" --server "$SERVER" --token "$OP_TOKEN" --group billing_l402
    assert_eq 1 "$RC" "drill without a server"
    assert_contains "$OUT" "cannot connect"
}

test_full_walk_of_one_group_from_expand_to_contract() {
    migrated
    keys alice bob carol
    start_server
    local L="$TEST_TMP/ledger.jsonl" K="$TEST_TMP/keys"
    local trust=(--trust "$K/alice.pub" "$K/bob.pub" "$K/carol.pub" --threshold 2)
    expand_evidence
    must gate advance billing_l402 expand --ledger "$L" --new-ledger "${EXPAND_ARGS[@]}"
    must gate advance billing_l402 migrate --ledger "$L" --manifest "$MANIFEST"
    must gate advance billing_l402 verify --ledger "$L"
    bundle "$TEST_TMP/canary" --release-train 2026.11-r1
    must evidence sign "$TEST_TMP/canary" --key "$K/alice.key"
    must evidence sign "$TEST_TMP/canary" --key "$K/carol.key"
    must gate advance billing_l402 canary --ledger "$L" --evidence "$TEST_TMP/canary" "${trust[@]}"
    must gate advance billing_l402 cutover --ledger "$L" --evidence "$TEST_TMP/canary" "${trust[@]}"
    cutover gate destructive --ledger "$L" --group billing_l402
    assert_eq 1 "$RC" "rule 5 holds at cutover"

    # The drill of another release train does not count.
    cutover drill --manifest "$MANIFEST" --server "$SERVER" --token "$OP_TOKEN" --group billing_l402 \
        --release-train 2026.10-r9 --out "$TEST_TMP/old-drill.json"
    assert_eq 0 "$RC" "drill: $OUT"
    samples billing_l402 >"$TEST_TMP/samples.json"
    bundle "$TEST_TMP/old" --release-train 2026.11-r1 --drill-report "$TEST_TMP/old-drill.json" \
        --canary-samples "$TEST_TMP/samples.json"
    must evidence sign "$TEST_TMP/old" --key "$K/alice.key"
    must evidence sign "$TEST_TMP/old" --key "$K/bob.key"
    cutover gate advance billing_l402 contract --ledger "$L" --evidence "$TEST_TMP/old" "${trust[@]}"
    assert_eq 1 "$RC" "contract with a drill of another train"
    assert_contains "$OUT" "from the same release train: the drill is from '2026.10-r9'"

    cutover drill --manifest "$MANIFEST" --server "$SERVER" --token "$OP_TOKEN" --group billing_l402 \
        --release-train 2026.11-r1 --out "$TEST_TMP/drill.json"
    assert_eq 0 "$RC" "drill: $OUT"
    bundle "$TEST_TMP/contract" --release-train 2026.11-r1 --drill-report "$TEST_TMP/drill.json" \
        --canary-samples "$TEST_TMP/samples.json"
    must evidence sign "$TEST_TMP/contract" --key "$K/bob.key"
    must evidence sign "$TEST_TMP/contract" --key "$K/carol.key"
    cutover gate advance billing_l402 contract --ledger "$L" --evidence "$TEST_TMP/contract" "${trust[@]}" --json
    assert_eq 0 "$RC" "contract: $OUT"
    assert_eq true "$(jq -r .allowed <<<"$OUT")"
    assert_eq true "$(jq -r .evidence.canary.healthy <<<"$OUT")"
    assert_eq 2026.11-r1 "$(jq -r .evidence.drill.release_train <<<"$OUT")"

    cutover gate status --ledger "$L" --json
    assert_eq "contract 6 true" "$(jq -r '"\(.groups[0].phase) \(.records) \(.groups[0].destructive_changes_allowed)"' <<<"$OUT")"
    must gate destructive --ledger "$L" --group billing_l402
    assert_contains "$OUT" "allowed"
    expand_evidence
    must gate advance chat_pilot expand --ledger "$L" "${EXPAND_ARGS[@]}"
    cutover gate destructive --ledger "$L" --routes "$TEST_TMP/routes.json"
    assert_eq 1 "$RC" "another group is still open"
    assert_contains "$OUT" "chat_pilot (expand)"
    assert_eq null "$(override_of billing_l402)" "the drills left no override behind"
    stop_server
}

run_test test_keygen_writes_openssl_pem_and_never_overwrites
run_test test_a_cutover_signature_verifies_with_openssl
run_test test_an_openssl_key_signs_in_cutover
run_test test_collect_sign_verify_two_of_three
run_test test_a_changed_byte_in_any_bundle_file_fails
run_test test_a_swapped_key_fails
run_test test_collect_records_a_failing_verification_and_verify_refuses_it
run_test test_collect_takes_given_reports_and_refuses_bad_inputs
run_test test_ledger_chain_and_a_reordered_line
run_test test_the_ledger_lock_refuses_a_second_writer
run_test test_each_gate_refuses_and_names_the_missing_evidence
run_test test_drill_against_the_control_server
run_test test_full_walk_of_one_group_from_expand_to_contract
finish_tests
