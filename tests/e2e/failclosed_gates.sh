#!/usr/bin/env bash
# End-to-end suite for issue 12's gate and evidence items (9-13, and the
# --ledger part of 3): each test drives the real binary on real files and
# shows a place where "could not check" used to read as "allowed".
#
#   tests/e2e/failclosed_gates.sh [BIN]
#
# Needs bash, jq, sha256sum, openssl, xxd, base64, curl, mkfifo, timeout,
# tail and date. Nothing sleeps: the control server prints its address first.
# shellcheck disable=SC2317,SC2031,SC2119
set -u

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$root/tests/e2e/lib.sh"

e2e_binary failclosed_gates.sh "${1:-}" jq sha256sum openssl xxd base64 curl mkfifo timeout tail date
unset AUTH_STORE_PATH CODEX_THREAD_STORE_PATH DOMAIN_STORE_PATH WORK_DIR
for v in $(compgen -e | grep '^OA_ROUTE_SPLIT_' || true); do unset "$v"; done

# --- item 9: a ledger that cannot be read is an error ----------------------------

test_a_missing_ledger_is_a_usage_error_never_allowed() {
    cutover gate destructive --ledger "$TEST_TMP/typo/l.jsonl"
    assert_eq 2 "$RC" "gate destructive with a ledger that does not exist"
    assert_not_contains "$OUT" "allowed" "gate destructive's answer"
    assert_contains "$ERR" "ledger $TEST_TMP/typo/l.jsonl does not exist"
    cutover gate destructive --ledger "$TEST_TMP/l.jsonl" --group billing_l402
    assert_eq 2 "$RC" "gate destructive --group with a ledger that does not exist"
    cutover gate status --ledger "$TEST_TMP/l.jsonl"
    assert_eq 2 "$RC" "gate status with a ledger that does not exist"
    mkdir "$TEST_TMP/dir.jsonl"
    cutover gate destructive --ledger "$TEST_TMP/dir.jsonl"
    assert_eq 2 "$RC" "gate destructive with a folder for a ledger"
    if ((EUID != 0)); then
        : >"$TEST_TMP/secret.jsonl"
        chmod 000 "$TEST_TMP/secret.jsonl"
        cutover gate destructive --ledger "$TEST_TMP/secret.jsonl"
        assert_eq 2 "$RC" "gate destructive with an unreadable ledger"
        assert_contains "$ERR" "cannot be read"
    fi
}

test_backfill_refuses_a_ledger_that_does_not_exist() {
    S="$TEST_TMP/stores"
    must fixtures "$S"
    printf '[]\n' >"$S/auth.json"  # a root of the wrong type: only a destructive reset replaces it
    remember_file "$S/auth.json"
    cutover backfill --store "auth=$S/auth.json" --work-dir "$TEST_TMP/work" --allow-destructive-reset \
        --ledger "$TEST_TMP/typo"
    assert_eq 2 "$RC" "backfill --allow-destructive-reset --ledger TYPO"
    assert_contains "$ERR" "ledger $TEST_TMP/typo does not exist"
    assert_file_unchanged "$S/auth.json" "the store"
    assert_no_path "$TEST_TMP/work/manifests" "a manifest"
}

test_a_new_ledger_is_started_only_with_new_ledger_at_expand() {
    local L="$TEST_TMP/ledger.jsonl"
    cutover gate advance billing_l402 expand --ledger "$L"
    assert_eq 2 "$RC" "expand into a ledger that does not exist, without --new-ledger"
    assert_contains "$ERR" "--new-ledger"
    assert_no_path "$L" "the ledger"
    cutover gate advance billing_l402 migrate --ledger "$L" --new-ledger
    assert_eq 2 "$RC" "--new-ledger for another phase than expand"
    assert_no_path "$L" "the ledger"
    expand_evidence
    must gate advance billing_l402 expand --ledger "$L" --new-ledger "${EXPAND_ARGS[@]}"
    assert_eq 1 "$(wc -l <"$L")" "records in the new ledger"
    cutover gate advance chat_pilot expand --ledger "$L" --new-ledger
    assert_eq 2 "$RC" "--new-ledger for a ledger that exists"
    assert_contains "$ERR" "already exists"
    expand_evidence
    must gate advance chat_pilot expand --ledger "$L" "${EXPAND_ARGS[@]}"
    assert_eq 2 "$(wc -l <"$L")" "records after the second group's expand"
}

# --- item 13: signatures -------------------------------------------------------------

# pub_pem RAW_HEX OUT: an ed25519 SubjectPublicKeyInfo PEM holding the 32 raw bytes.
pub_pem() {
    { echo "-----BEGIN PUBLIC KEY-----"
      printf '302a300506032b6570032100%s' "$1" | xxd -r -p | base64
      echo "-----END PUBLIC KEY-----"; } >"$2"
}

test_small_order_and_non_canonical_trusted_keys_are_refused() {
    mkdir -p "$TEST_TMP/keys"
    must keygen --out "$TEST_TMP/keys/alice"
    local zeros ff name hex
    zeros="$(printf '0%.0s' {1..62})"
    ff="$(printf 'f%.0s' {1..60})"
    # identity; order 4 (y = 0, sign set); order 8 (sign set); y = p (non-canonical 0); y = p+1 (non-canonical 1)
    local -A weak=(
        [identity]="01${zeros}"
        [order4]="${zeros}0080"
        [order8]="c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa"
        [p]="ed${ff}7f"
        [p_plus_1]="ee${ff}7f"
    )
    for name in "${!weak[@]}"; do
        hex="${weak[$name]}"
        pub_pem "$hex" "$TEST_TMP/keys/$name.pub"
        openssl pkey -pubin -in "$TEST_TMP/keys/$name.pub" -noout 2>/dev/null ||
            fatal "openssl cannot read the test key $name"
        cutover evidence verify "$TEST_TMP/nowhere" --trust "$TEST_TMP/keys/alice.pub" "$TEST_TMP/keys/$name.pub"
        assert_eq 2 "$RC" "evidence verify trusting the $name key"
        assert_contains "$ERR" "trusted key $TEST_TMP/keys/$name.pub is refused" "$name"
        cutover gate advance billing_l402 expand --ledger "$TEST_TMP/l.jsonl" --new-ledger --trust "$TEST_TMP/keys/$name.pub"
        assert_eq 2 "$RC" "gate advance trusting the $name key"
    done
    assert_no_path "$TEST_TMP/l.jsonl" "the ledger"
}

test_an_envelope_with_one_key_twice_is_refused() {
    migrated
    mkdir -p "$TEST_TMP/keys"
    must keygen --out "$TEST_TMP/keys/alice"
    must keygen --out "$TEST_TMP/keys/bob"
    must evidence collect --manifest "$MANIFEST" --out "$TEST_TMP/b"
    must evidence sign "$TEST_TMP/b" --key "$TEST_TMP/keys/alice.key"
    must evidence verify "$TEST_TMP/b" --trust "$TEST_TMP/keys/alice.pub"
    # The same signature twice, in the canonical form cutover writes.
    jq -S '.signatures += .signatures' "$TEST_TMP/b/statement.dsse.json" >"$TEST_TMP/dup.json"
    cp "$TEST_TMP/dup.json" "$TEST_TMP/b/statement.dsse.json"
    cutover evidence verify "$TEST_TMP/b" --trust "$TEST_TMP/keys/alice.pub" "$TEST_TMP/keys/bob.pub" --threshold 1
    assert_eq 1 "$RC" "evidence verify of an envelope with alice's signature twice"
    assert_contains "$OUT" "signed already in signatures[0]"
}

test_threshold_is_a_whole_number_from_one_to_the_trusted_keys() {
    mkdir -p "$TEST_TMP/keys"
    must keygen --out "$TEST_TMP/keys/alice"
    must keygen --out "$TEST_TMP/keys/bob"
    local t trust=(--trust "$TEST_TMP/keys/alice.pub" "$TEST_TMP/keys/bob.pub")
    for t in 0 3 -1 +1 " 1" 0x1 1.0 1e0 ""; do
        cutover evidence verify "$TEST_TMP/nowhere" "${trust[@]}" --threshold "$t"
        assert_eq 2 "$RC" "evidence verify --threshold '$t'"
        cutover gate advance billing_l402 expand --ledger "$TEST_TMP/l.jsonl" --new-ledger "${trust[@]}" --threshold "$t"
        assert_eq 2 "$RC" "gate advance --threshold '$t'"
    done
    assert_contains "$ERR" "--threshold" "the message names the flag"
    assert_no_path "$TEST_TMP/l.jsonl" "the ledger"
    cutover evidence verify "$TEST_TMP/nowhere" "${trust[@]}" --threshold 2
    assert_eq 1 "$RC" "--threshold 2 of 2 is usable (the folder is not a bundle)"
}

# --- item 12: ledger truncation ------------------------------------------------------

test_gate_status_prints_the_head_and_gate_verify_pins_it() {
    local L="$TEST_TMP/ledger.jsonl" head
    expand_evidence
    must gate advance billing_l402 expand --ledger "$L" --new-ledger "${EXPAND_ARGS[@]}"
    expand_evidence
    must gate advance chat_pilot expand --ledger "$L" "${EXPAND_ARGS[@]}"
    must gate status --ledger "$L"
    head="$(sed -n 's/^head: \([0-9]*:[0-9a-f]*\) .*/\1/p' <<<"$OUT")"
    assert_eq "2:$(sed -n 2p "$L" | tr -d '\n' | sha256sum | cut -c1-64)" "$head" "the head gate status prints"
    cutover gate status --ledger "$L" --json
    assert_eq "$head" "$(jq -r .head <<<"$OUT")" "gate status --json head"
    must gate verify --ledger "$L" --head "$head"
    expand_evidence
    must gate advance auth_entry expand --ledger "$L" "${EXPAND_ARGS[@]}"
    must gate verify --ledger "$L" --head "$head"
    assert_contains "$OUT" "holds the pinned head $head"

    # Cut after the first record: a valid, shorter chain, which status accepts.
    head -n 1 "$L" >"$TEST_TMP/cut" && cp "$TEST_TMP/cut" "$L"
    must gate status --ledger "$L"
    cutover gate verify --ledger "$L" --head "$head"
    assert_eq 1 "$RC" "gate verify of a truncated ledger"
    assert_contains "$ERR" "was truncated: it holds 1 record(s)"

    # Another ledger with as many records.
    rm "$L"
    expand_evidence "$TEST_TMP/expand2"  # a new ledger: its first expand records the route config again
    must gate advance auth_entry expand --ledger "$L" --new-ledger "${EXPAND_ARGS[@]}"
    expand_evidence "$TEST_TMP/expand2"
    must gate advance chat_pilot expand --ledger "$L" "${EXPAND_ARGS[@]}"
    cutover gate verify --ledger "$L" --head "$head"
    assert_eq 1 "$RC" "gate verify of a rewritten ledger"
    assert_contains "$ERR" "was rewritten: record 2 hashes to"

    for bad in "" 2 "2:" "x:$(printf 'a%.0s' {1..64})" "2:ABC" "-1:$(printf 'a%.0s' {1..64})"; do
        cutover gate verify --ledger "$L" --head "$bad"
        assert_eq 2 "$RC" "gate verify --head '$bad'"
    done
    cutover gate verify --ledger "$TEST_TMP/typo" --head "$head"
    assert_eq 2 "$RC" "gate verify of a ledger that does not exist"
}

test_a_bundle_pins_the_ledger_head_and_a_truncated_ledger_is_refused() {
    migrated
    mkdir -p "$TEST_TMP/keys"
    must keygen --out "$TEST_TMP/keys/alice"
    local L="$TEST_TMP/ledger.jsonl" trust=(--trust "$TEST_TMP/keys/alice.pub")
    expand_evidence
    must gate advance billing_l402 expand --ledger "$L" --new-ledger "${EXPAND_ARGS[@]}"
    must gate advance billing_l402 migrate --ledger "$L" --manifest "$MANIFEST"
    must gate advance billing_l402 verify --ledger "$L"
    expand_evidence
    must gate advance chat_pilot expand --ledger "$L" "${EXPAND_ARGS[@]}"
    must evidence collect --manifest "$MANIFEST" --out "$TEST_TMP/b" --ledger "$L"
    assert_eq "4 $(sed -n 4p "$L" | tr -d '\n' | sha256sum | cut -c1-64)" \
        "$(jq -r '"\(.predicate.ledger.records) \(.predicate.ledger.head_sha256)"' "$TEST_TMP/b/statement.json")" \
        "the head the statement records"
    must evidence sign "$TEST_TMP/b" --key "$TEST_TMP/keys/alice.key"
    cp "$L" "$TEST_TMP/full"
    head -n 3 "$TEST_TMP/full" >"$L"
    cutover gate advance billing_l402 canary --ledger "$L" --evidence "$TEST_TMP/b" "${trust[@]}"
    assert_eq 1 "$RC" "canary on a ledger cut below the bundle's head"
    assert_contains "$OUT" "was truncated: it holds 3 record(s)"
    assert_eq 3 "$(wc -l <"$L")" "nothing was recorded"
    cp "$TEST_TMP/full" "$L"
    must gate advance billing_l402 canary --ledger "$L" --evidence "$TEST_TMP/b" "${trust[@]}"
}

# --- item 10: "every group" means every group of the route configuration -----------------

# forge_ledger FILE GROUP:PHASE...: a ledger with a valid chain and phase order
# (as gate advance writes it, evidence left empty), for rule 5's answers.
forge_ledger() {
    local file="$1" prev seq=0 gp line
    shift
    prev="$(printf '0%.0s' {1..64})"
    : >"$file"
    for gp in "$@"; do
        seq=$((seq + 1))
        line="$(jq -cnS --arg g "${gp%%:*}" --arg p "${gp##*:}" --arg prev "$prev" --argjson seq "$seq" \
            '{schema: "cutover.ledger.v1", seq: $seq, prev_sha256: $prev, recorded_at: "2026-11-27T04:00:00Z",
              group: $g, phase: $p, tool: "cutover 0.1.0", note: null, evidence: {}}')"
        printf '%s\n' "$line" >>"$file"
        prev="$(printf '%s' "$line" | sha256sum | cut -c1-64)"
    done
}

# only_billing FILE: a route config whose one group is billing_l402.
only_billing() {
    printf '%s\n' '{"route_groups": [{"domain": "billing_l402", "route_prefixes": ["/billing"], "rollback_target": "legacy"}]}' >"$1"
}

test_every_group_means_every_configured_group() {
    local L="$TEST_TMP/ledger.jsonl" walk=()
    printf '{}\n' >"$TEST_TMP/reference.json"
    only_billing "$TEST_TMP/billing.json"
    # An empty ledger: no group has a record, so none has an open window?
    : >"$L"
    cutover gate destructive --ledger "$L"
    assert_eq 2 "$RC" "gate destructive on an empty ledger, without a route config"
    assert_contains "$ERR" "needs the route configuration"
    assert_not_contains "$OUT" "allowed"
    cutover gate destructive --ledger "$L" --routes "$TEST_TMP/reference.json"
    assert_eq 1 "$RC" "gate destructive with the reference groups and no record"
    assert_contains "$OUT" "auth_entry (no record), account_settings_admin (no record), billing_l402 (no record), chat_pilot (no record)"

    # billing_l402 at contract, the only group in the ledger.
    for p in expand migrate verify canary cutover contract; do walk+=("billing_l402:$p"); done
    forge_ledger "$L" "${walk[@]}"
    must gate status --ledger "$L"
    cutover gate destructive --ledger "$L" --routes "$TEST_TMP/reference.json"
    assert_eq 1 "$RC" "gate destructive while configured groups never entered the ledger"
    assert_contains "$OUT" "chat_pilot (no record)"
    assert_not_contains "$OUT" "billing_l402 (" "billing_l402 is at contract"
    must gate destructive --ledger "$L" --routes "$TEST_TMP/billing.json"
    assert_contains "$OUT" "every group of the route config has reached contract"
    cutover gate destructive --ledger "$L" --routes "$TEST_TMP/typo.json"
    assert_eq 2 "$RC" "a route config that does not exist"
}

test_the_route_config_recorded_at_expand_is_every_group() {
    local L="$TEST_TMP/ledger.jsonl"
    printf '{}\n' >"$TEST_TMP/reference.json"
    mkdir -p "$TEST_TMP/expand" && cp "$TEST_TMP/reference.json" "$TEST_TMP/expand/routes.json"
    expand_evidence  # reports for reference.json's bytes; this test passes --routes itself
    cutover gate advance nosuch_group expand --ledger "$L" --new-ledger --routes "$TEST_TMP/reference.json" "${EXPAND_ARGS[@]}"
    assert_eq 1 "$RC" "expand of a group the route config does not have"
    assert_contains "$OUT" "has no route group nosuch_group"
    assert_no_path "$L" "the ledger"
    expand_evidence
    must gate advance billing_l402 expand --ledger "$L" --new-ledger --routes "$TEST_TMP/reference.json" "${EXPAND_ARGS[@]}"
    assert_eq "billing_l402 chat_pilot" \
        "$(sed -n 1p "$L" | jq -r '.evidence.routes.groups | map(select(. == "billing_l402" or . == "chat_pilot")) | join(" ")')" \
        "the groups the expand record keeps"
    assert_eq "$(sha256sum <"$TEST_TMP/reference.json" | cut -c1-64)" "$(sed -n 1p "$L" | jq -r .evidence.routes.sha256)"
    cutover gate destructive --ledger "$L" --json
    assert_eq 1 "$RC" "gate destructive with the recorded route config"
    assert_eq false "$(jq -r .allowed <<<"$OUT")"
    assert_contains "$(jq -r .reason <<<"$OUT")" "recorded in ledger"
    assert_contains "$(jq -r .reason <<<"$OUT")" "chat_pilot (no record)"
}

test_backfill_rule_5_needs_the_route_config() {
    S="$TEST_TMP/stores"
    must fixtures "$S"
    printf '[]\n' >"$S/auth.json"
    remember_file "$S/auth.json"
    local L="$TEST_TMP/ledger.jsonl" walk=() p
    for p in expand migrate verify canary cutover contract; do walk+=("billing_l402:$p"); done
    forge_ledger "$L" "${walk[@]}"
    printf '{}\n' >"$TEST_TMP/reference.json"
    cutover backfill --store "auth=$S/auth.json" --work-dir "$TEST_TMP/work" --allow-destructive-reset --ledger "$L"
    assert_eq 2 "$RC" "backfill --allow-destructive-reset without a route config"
    assert_contains "$ERR" "needs the route configuration"
    cutover backfill --store "auth=$S/auth.json" --work-dir "$TEST_TMP/work" --allow-destructive-reset --ledger "$L" \
        --routes "$TEST_TMP/reference.json"
    assert_eq 1 "$RC" "backfill --allow-destructive-reset while configured groups are open"
    assert_contains "$ERR" "chat_pilot (no record)"
    assert_file_unchanged "$S/auth.json" "the store"
    assert_no_path "$TEST_TMP/work/manifests" "a manifest"
}

# --- item 3 (--ledger): the manifest must be the one the ledger recorded -------------------

test_verify_and_rollback_check_the_manifest_against_the_ledger() {
    migrated
    local L="$TEST_TMP/ledger.jsonl" first="$MANIFEST"
    expand_evidence
    must gate advance billing_l402 expand --ledger "$L" --new-ledger "${EXPAND_ARGS[@]}"
    must gate advance billing_l402 migrate --ledger "$L" --manifest "$first"
    must verify "$first" --ledger "$L"
    remember_file "$S/auth.json" "$S/codex_threads.json" "$S/domain.json"

    # A later run's manifest: the ledger never recorded it.
    must backfill --store "auth=$S/auth.json" --store "codex_threads=$S/codex_threads.json" \
        --store "domain=$S/domain.json" --work-dir "$W"
    local second
    second="$(sed -n 's/^manifest: //p' <<<"$OUT")"
    [[ "$second" != "$first" && -f "$second" ]] || fatal "no second manifest: $OUT"
    cutover verify "$second" --ledger "$L"
    assert_eq 1 "$RC" "verify --ledger of a manifest the ledger has no record of"
    assert_contains "$ERR" "has no record of manifest $second"
    cutover rollback "$second" --ledger "$L"
    assert_eq 1 "$RC" "rollback --ledger of a manifest the ledger has no record of"
    assert_contains "$ERR" "has no record of manifest $second"

    # The recorded manifest, changed in place since.
    cp "$first" "$TEST_TMP/first.saved"
    printf ' ' >>"$first"
    cutover verify "$first" --ledger "$L"
    assert_eq 1 "$RC" "verify --ledger of a manifest changed since migrate"
    assert_contains "$ERR" "does not match the ledger"
    cutover rollback "$first" --ledger "$L"
    assert_eq 1 "$RC" "rollback --ledger of a manifest changed since migrate"
    assert_contains "$ERR" "does not match the ledger"
    local s
    for s in auth codex_threads domain; do assert_file_unchanged "$S/$s.json" "$s store"; done
    cp "$TEST_TMP/first.saved" "$first"

    cutover rollback "$first" --ledger "$TEST_TMP/typo.jsonl"
    assert_eq 2 "$RC" "rollback --ledger with a ledger that does not exist"
    for s in auth codex_threads domain; do assert_file_unchanged "$S/$s.json" "$s store"; done
}

# --- item 11: evidence must be fresh ----------------------------------------------------

test_a_store_changed_since_the_evidence_refuses_the_gate() {
    migrated
    local L="$TEST_TMP/ledger.jsonl"
    expand_evidence
    must gate advance billing_l402 expand --ledger "$L" --new-ledger "${EXPAND_ARGS[@]}"
    must gate advance billing_l402 migrate --ledger "$L" --manifest "$MANIFEST"
    must verify "$MANIFEST" --json
    printf '%s\n' "$OUT" >"$TEST_TMP/report.json"
    # A writer still running: the store changes after the report was taken.
    jq -S '.users += [{"id": "late-write"}]' "$S/auth.json" >"$TEST_TMP/auth.new"
    cp "$TEST_TMP/auth.new" "$S/auth.json"
    cutover gate advance billing_l402 verify --ledger "$L" --verify-report "$TEST_TMP/report.json"
    assert_eq 1 "$RC" "verify gate with a passing report of stores that changed since"
    assert_contains "$OUT" "missing: fresh evidence: store [auth] $S/auth.json hashes to"
    assert_eq 2 "$(wc -l <"$L")" "nothing was recorded"
}

test_a_store_rollback_is_recorded_and_sends_the_group_back() {
    migrated
    mkdir -p "$TEST_TMP/keys"
    must keygen --out "$TEST_TMP/keys/alice"
    local L="$TEST_TMP/ledger.jsonl" trust=(--trust "$TEST_TMP/keys/alice.pub")
    expand_evidence
    must gate advance billing_l402 expand --ledger "$L" --new-ledger "${EXPAND_ARGS[@]}"
    expand_evidence
    must gate advance chat_pilot expand --ledger "$L" "${EXPAND_ARGS[@]}"
    must gate advance billing_l402 migrate --ledger "$L" --manifest "$MANIFEST"
    must gate advance billing_l402 verify --ledger "$L"
    must evidence collect --manifest "$MANIFEST" --out "$TEST_TMP/b"
    must evidence sign "$TEST_TMP/b" --key "$TEST_TMP/keys/alice.key"
    must gate advance billing_l402 canary --ledger "$L" --evidence "$TEST_TMP/b" "${trust[@]}"

    must rollback "$MANIFEST" --ledger "$L"
    assert_contains "$ERR" "billing_l402 back to expand (store rollback)"
    assert_eq "expand store_rollback canary" "$(tail -n 1 "$L" | jq -r '"\(.phase) \(.evidence.event) \(.evidence.from_phase)"')" \
        "the rollback record"
    cutover gate status --ledger "$L" --json
    assert_eq "billing_l402:expand chat_pilot:expand" "$(jq -r '[.groups[] | "\(.group):\(.phase)"] | join(" ")' <<<"$OUT")"
    # The old evidence no longer holds: the stores are back at their before-state.
    cutover gate advance billing_l402 migrate --ledger "$L" --manifest "$MANIFEST"
    assert_eq 1 "$RC" "migrate again on the rolled-back manifest"
    assert_contains "$OUT" "missing: fresh evidence: store [auth]"
    # Rolling back twice records nothing more.
    local n
    n="$(wc -l <"$L")"
    must rollback "$MANIFEST" --ledger "$L"
    assert_eq "$n" "$(wc -l <"$L")" "records after a second rollback"
}

# samples GROUP START: a healthy canary window (every stage held 600 s, a
# reading a minute) starting at unix time START.
samples() {
    jq -n --arg g "$1" --argjson t0 "$2" '
      {schema: "cutover.canary_samples.v1", group: $g,
       samples: [ [5, 25, 50, 100] | to_entries[] | .key as $i | .value as $stage
                  | range(0; 601; 60) as $s
                  | {stage: $stage, time: (($t0 + $i * 660 + $s) | todate),
                     requests: 1000, errors_5xx: 9, p95_ms: 120, baseline_p95_ms: 100} ]}'
}

test_a_drilled_route_rollback_needs_new_evidence_and_a_later_canary() {
    migrated
    mkdir -p "$TEST_TMP/keys"
    must keygen --out "$TEST_TMP/keys/alice"
    write_setup '{"mode": "rust", "tokens_file": "tokens.txt"}'
    chmod 600 "$TEST_TMP/tokens.txt"
    start_server
    local L="$TEST_TMP/ledger.jsonl" trust=(--trust "$TEST_TMP/keys/alice.pub")
    expand_evidence
    must gate advance billing_l402 expand --ledger "$L" --new-ledger "${EXPAND_ARGS[@]}"
    must gate advance billing_l402 migrate --ledger "$L" --manifest "$MANIFEST"
    must gate advance billing_l402 verify --ledger "$L"
    must evidence collect --manifest "$MANIFEST" --out "$TEST_TMP/old"
    must evidence sign "$TEST_TMP/old" --key "$TEST_TMP/keys/alice.key"
    must gate advance billing_l402 canary --ledger "$L" --evidence "$TEST_TMP/old" "${trust[@]}"

    # The drill sends the group's traffic to its rollback target: recorded.
    must drill --manifest "$MANIFEST" --server "$BASE" --token "$OP_TOKEN" --group billing_l402 \
        --out "$TEST_TMP/drill.json" --ledger "$L"
    assert_contains "$ERR" "route rollback of billing_l402, now in phase verify"
    assert_eq "verify route_rollback canary true" \
        "$(tail -n 1 "$L" | jq -r '"\(.phase) \(.evidence.event) \(.evidence.from_phase) \(.evidence.restored)"')"

    # The bundle from before the rollback no longer opens the canary.
    cutover gate advance billing_l402 canary --ledger "$L" --evidence "$TEST_TMP/old" "${trust[@]}"
    assert_eq 1 "$RC" "canary again on the bundle collected before the rollback"
    assert_contains "$OUT" "missing: evidence collected after the group's rollback"
    must evidence collect --manifest "$MANIFEST" --out "$TEST_TMP/new"
    must evidence sign "$TEST_TMP/new" --key "$TEST_TMP/keys/alice.key"
    must gate advance billing_l402 canary --ledger "$L" --evidence "$TEST_TMP/new" "${trust[@]}"
    must gate advance billing_l402 cutover --ledger "$L" --evidence "$TEST_TMP/new" "${trust[@]}"

    # Contract: a window observed before the (new) canary record is refused.
    local canary_at
    canary_at="$(jq -r 'select(.phase == "canary") | .recorded_at' "$L" | tail -n 1)"
    samples billing_l402 "$(($(date -u -d "$canary_at" +%s) - 3000))" >"$TEST_TMP/early.json"
    must evidence collect --manifest "$MANIFEST" --out "$TEST_TMP/c1" --drill-report "$TEST_TMP/drill.json" \
        --canary-samples "$TEST_TMP/early.json"
    must evidence sign "$TEST_TMP/c1" --key "$TEST_TMP/keys/alice.key"
    cutover gate advance billing_l402 contract --ledger "$L" --evidence "$TEST_TMP/c1" "${trust[@]}"
    assert_eq 1 "$RC" "contract on canary samples from before the canary record"
    assert_contains "$OUT" "missing: canary samples taken after the group's canary record ($canary_at)"
    assert_not_contains "$OUT" "healthy canary window" "the window itself is healthy"

    samples billing_l402 "$(($(date -u +%s) + 1))" >"$TEST_TMP/late.json"
    must evidence collect --manifest "$MANIFEST" --out "$TEST_TMP/c2" --drill-report "$TEST_TMP/drill.json" \
        --canary-samples "$TEST_TMP/late.json"
    must evidence sign "$TEST_TMP/c2" --key "$TEST_TMP/keys/alice.key"
    must gate advance billing_l402 contract --ledger "$L" --evidence "$TEST_TMP/c2" "${trust[@]}"
    stop_server
}

run_test test_a_missing_ledger_is_a_usage_error_never_allowed
run_test test_backfill_refuses_a_ledger_that_does_not_exist
run_test test_a_new_ledger_is_started_only_with_new_ledger_at_expand
run_test test_small_order_and_non_canonical_trusted_keys_are_refused
run_test test_an_envelope_with_one_key_twice_is_refused
run_test test_threshold_is_a_whole_number_from_one_to_the_trusted_keys
run_test test_gate_status_prints_the_head_and_gate_verify_pins_it
run_test test_a_bundle_pins_the_ledger_head_and_a_truncated_ledger_is_refused
run_test test_every_group_means_every_configured_group
run_test test_the_route_config_recorded_at_expand_is_every_group
run_test test_backfill_rule_5_needs_the_route_config
run_test test_verify_and_rollback_check_the_manifest_against_the_ledger
run_test test_a_store_changed_since_the_evidence_refuses_the_gate
run_test test_a_store_rollback_is_recorded_and_sends_the_group_back
run_test test_a_drilled_route_rollback_needs_new_evidence_and_a_later_canary
finish_tests
