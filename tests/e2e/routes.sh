#!/usr/bin/env bash
# End-to-end suite for issue 17's "Rollback targets answer" and "The gate":
# `cutover routes check` against live `cutover serve` stubs on 127.0.0.1, a
# closed port and a 503, and `gate advance GROUP expand` with and without
# the two reports.
#
#   tests/e2e/routes.sh [BIN]
#
# Needs bash, jq, sha256sum, curl, mkfifo, timeout and tail. Nothing sleeps:
# the server prints its address first.
# shellcheck disable=SC2317,SC2031
set -u

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$root/tests/e2e/lib.sh"

e2e_binary routes.sh "${1:-}" jq sha256sum curl mkfifo timeout tail
unset AUTH_STORE_PATH CODEX_THREAD_STORE_PATH DOMAIN_STORE_PATH WORK_DIR
for v in $(compgen -e | grep '^OA_ROUTE_SPLIT_' || true); do unset "$v"; done

CUTOVER_TIMEOUT=60  # routes check waits for timeouts

# targets_config FILE LEGACY_URL RUST_URL: a route config with two groups
# (billing_l402 rolls back to legacy, chat_pilot to rust_shell) and one pin.
targets_config() {
    cat >"$1" <<JSON
{"legacy_base_url": "$2", "rust_base_url": "$3",
 "route_groups": [
   {"domain": "billing_l402", "route_prefixes": ["/billing"], "rollback_target": "legacy"},
   {"domain": "chat_pilot", "route_prefixes": ["/chat"], "rollback_target": "rust_shell"}],
 "pinned_routes": [{"prefix": "/api", "target": "legacy", "reason": "api_pinned", "route_domain": "api"}]}
JSON
}

# A stub target: `cutover serve` answers /healthz with 200.
test_live_targets_pass_and_the_report_says_so() {
    write_setup
    start_server
    targets_config "$TEST_TMP/check.json" "$BASE" "$BASE/"
    must routes check --config "$TEST_TMP/check.json" --out "$TEST_TMP/report.json" --timeout 5s
    assert_contains "$OUT" "routes check: ok: 2 group(s) and 1 pinned route(s) answer /healthz"
    local r="$TEST_TMP/report.json"
    assert_eq "cutover.routes_report.v1" "$(jq -r .format "$r")" "format"
    assert_eq true "$(jq -r .ok "$r")" "ok"
    assert_eq "$TEST_TMP/check.json" "$(jq -r .config.path "$r")" "config.path"
    assert_eq "$(sha256sum <"$TEST_TMP/check.json" | cut -c1-64)" "$(jq -r .config.sha256 "$r")" "config.sha256"
    assert_eq 5000 "$(jq -r .timeout_ms "$r")" "timeout_ms"
    assert_eq "billing_l402:rollback:legacy:200 billing_l402:forward:rust_shell:200 chat_pilot:rollback:rust_shell:200 chat_pilot:forward:legacy:200" \
        "$(jq -r '[.groups[] | .group as $g | .checks[] | "\($g):\(.role):\(.target):\(.status)"] | join(" ")' "$r")" "checks"
    assert_eq "/api:legacy:true:$BASE/healthz" "$(jq -r '.pins[] | "\(.route):\(.target):\(.ok):\(.checks[0].url)"' "$r")" "pin"
    assert_match "$(jq -r .created_at "$r")" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z$' "created_at"
    must routes check --config "$TEST_TMP/check.json" --json
    assert_eq true "$(jq -r .ok <<<"$OUT")" "--json prints the report"
    stop_server
}

test_a_closed_port_and_a_503_fail_naming_the_groups() {
    # A port that just closed: the server's, after it stopped.
    write_setup
    start_server
    local closed="$BASE"
    stop_server
    # A server in legacy mode with no legacy base URL answers every web path with 503.
    write_setup '{"mode": "legacy", "tokens_file": "tokens.txt"}'
    rm -rf "$TEST_TMP/state"
    start_server
    targets_config "$TEST_TMP/check.json" "$BASE/broken" "$closed"
    cutover routes check --config "$TEST_TMP/check.json" --out "$TEST_TMP/report.json"
    assert_eq 1 "$RC" "routes check with a 503 and a closed port"
    assert_contains "$ERR" "group billing_l402: rollback target legacy ($BASE/broken/healthz): status 503"
    assert_contains "$ERR" "group billing_l402: forward target rust_shell ($closed/healthz): refused"
    assert_contains "$ERR" "group chat_pilot: rollback target rust_shell ($closed/healthz): refused"
    assert_contains "$ERR" "pinned route /api: pinned target legacy"
    assert_eq false "$(jq -r .ok "$TEST_TMP/report.json")" "the report is written and says not ok"
    assert_eq "status 503" "$(jq -r '.groups[0].checks[0].error' "$TEST_TMP/report.json")" "error"
    assert_eq 503 "$(jq -r '.groups[0].checks[0].status' "$TEST_TMP/report.json")" "status"
    assert_eq "refused" "$(jq -r '.groups[1].checks[0].error' "$TEST_TMP/report.json")" "error"
    assert_eq null "$(jq -r '.groups[1].checks[0].status' "$TEST_TMP/report.json")" "no status"
    stop_server
}

test_missing_base_urls_are_not_configured_and_bad_flags_are_usage_errors() {
    cutover routes check --out "$TEST_TMP/report.json"
    assert_eq 1 "$RC" "the built-in reference has no base URLs"
    assert_contains "$ERR" "group billing_l402: rollback target legacy (no base URL): not configured"
    assert_eq null "$(jq -r .config.path "$TEST_TMP/report.json")" "config.path without --config"
    assert_eq "not configured" "$(jq -r '.groups[0].checks[0].error' "$TEST_TMP/report.json")" "error"
    cutover routes check --timeout 2x
    assert_eq 2 "$RC" "a bad --timeout"
    assert_contains "$ERR" "--timeout '2x' is not a duration (e.g. 2s, 500ms, or whole seconds)" "names the flag"
    cutover routes check --timeout 0ms
    assert_eq 2 "$RC" "a zero --timeout"
    cutover routes check --timeout 601s
    assert_eq 2 "$RC" "a --timeout over 600 s"
    cutover routes check --health-path healthz
    assert_eq 2 "$RC" "a --health-path without /"
    cutover routes check --config "$TEST_TMP/nope.json"
    assert_eq 2 "$RC" "a config that does not exist"
}

# --- the gate ---------------------------------------------------------------------

test_expand_without_reports_is_refused_and_a_note_alone_does_not_advance() {
    local L="$TEST_TMP/ledger.jsonl"
    cutover gate advance billing_l402 expand --ledger "$L" --new-ledger --note "readers deployed, trust me"
    assert_eq 1 "$RC" "expand with only a note"
    assert_contains "$OUT" "missing: a routes report: pass --routes-report FILE"
    assert_contains "$OUT" "missing: an expand report: pass --expand-report FILE"
    assert_no_path "$L" "the ledger"
}

test_expand_with_fresh_passing_reports_is_recorded_with_their_digests() {
    local L="$TEST_TMP/ledger.jsonl" E="$TEST_TMP/expand"
    expand_evidence
    must gate advance billing_l402 expand --ledger "$L" --new-ledger "${EXPAND_ARGS[@]}"
    assert_eq "$(sha256sum <"$E/routes-report.json" | cut -c1-64)" "$(jq -r .evidence.routes_report.sha256 "$L")" \
        "the routes report's digest in the ledger"
    assert_eq "$(sha256sum <"$E/expand-report.json" | cut -c1-64)" "$(jq -r .evidence.expand_report.sha256 "$L")" \
        "the expand report's digest in the ledger"
    assert_eq "$E/routes-report.json" "$(jq -r .evidence.routes_report.path "$L")" "the routes report's path"
    # The same reports again, for another group: older than the ledger's last record.
    cutover gate advance chat_pilot expand --ledger "$L" --routes-report "$E/routes-report.json" \
        --expand-report "$E/expand-report.json"
    assert_eq 1 "$RC" "expand with stale reports"
    assert_contains "$OUT" "a fresh routes report: $E/routes-report.json was made at"
    assert_contains "$OUT" "a fresh expand report: $E/expand-report.json was made at"
    assert_eq 1 "$(wc -l <"$L")" "nothing recorded"
    expand_evidence
    must gate advance chat_pilot expand --ledger "$L" "${EXPAND_ARGS[@]}"
    assert_eq 2 "$(wc -l <"$L")" "records"
}

test_expand_with_failed_or_foreign_reports_is_refused() {
    local L="$TEST_TMP/ledger.jsonl" E="$TEST_TMP/expand"
    expand_evidence
    jq '.ok = false | .groups[2].ok = false' "$E/routes-report.json" >"$E/r.json" && mv "$E/r.json" "$E/routes-report.json"
    jq '.ok = false | .stores[0].runs[1].ok = false' "$E/expand-report.json" >"$E/e.json" && mv "$E/e.json" "$E/expand-report.json"
    cutover gate advance billing_l402 expand --ledger "$L" --new-ledger "${EXPAND_ARGS[@]}"
    assert_eq 1 "$RC" "expand with failed reports"
    assert_contains "$OUT" "routes-report.json did not pass"
    assert_contains "$OUT" "group billing_l402's rollback and forward targets answering"
    assert_contains "$OUT" "the reader failed on the migrated shape"
    assert_no_path "$L" "the ledger"
    # A passing report about another route config.
    expand_evidence
    printf '{"legacy_base_url": "http://127.0.0.1:8"}\n' >"$TEST_TMP/other.json"
    cutover gate advance billing_l402 expand --ledger "$L" --new-ledger --routes-report "$E/routes-report.json" \
        --expand-report "$E/expand-report.json" --routes "$TEST_TMP/other.json"
    assert_eq 1 "$RC" "a routes report for another config"
    assert_contains "$OUT" "a routes report for the route config the gate uses"
    # A store named to the gate that the expand report does not cover, and one that changed since.
    printf '{}' >"$TEST_TMP/auth.json"
    cutover gate advance billing_l402 expand --ledger "$L" --new-ledger "${EXPAND_ARGS[@]}" --routes "$E/routes.json" \
        --store "auth=$TEST_TMP/auth.json"
    assert_eq 1 "$RC" "an expand report that does not cover the store"
    assert_contains "$OUT" "an expand report covering store auth=$TEST_TMP/auth.json"
    jq --arg p "$TEST_TMP/auth.json" --arg sha "$(sha256sum <"$TEST_TMP/auth.json" | cut -c1-64)" \
        '.stores[0] |= (.path = $p | .existed = true | .sha256_before = $sha | .sha256_after = $sha)' \
        "$E/expand-report.json" >"$E/e.json" && mv "$E/e.json" "$E/expand-report.json"
    printf '{"sessions": []}' >"$TEST_TMP/auth.json"
    AUTH_STORE_PATH="$TEST_TMP/auth.json" cutover gate advance billing_l402 expand --ledger "$L" --new-ledger \
        "${EXPAND_ARGS[@]}" --routes "$E/routes.json"
    assert_eq 1 "$RC" "a store changed since the expand check"
    assert_contains "$OUT" "a fresh expand report for store auth $TEST_TMP/auth.json"
    printf '{}' >"$TEST_TMP/auth.json"
    AUTH_STORE_PATH="$TEST_TMP/auth.json" must gate advance billing_l402 expand --ledger "$L" --new-ledger \
        "${EXPAND_ARGS[@]}" --routes "$E/routes.json"
}

# --- the evidence bundle carries both reports -------------------------------------

test_the_evidence_bundle_carries_both_reports() {
    local S="$TEST_TMP/stores" W="$TEST_TMP/work" E="$TEST_TMP/expand" B="$TEST_TMP/bundle" manifest
    must fixtures "$S"
    must backfill --store "auth=$S/auth.json" --work-dir "$W"
    manifest="$(sed -n 's/^manifest: //p' <<<"$OUT")"
    expand_evidence
    must evidence collect --manifest "$manifest" --out "$B" --expand-report "$E/expand-report.json" \
        --routes-report "$E/routes-report.json"
    assert_same_bytes "$E/expand-report.json" "$B/expand-report.json" "the expand report in the bundle"
    assert_same_bytes "$E/routes-report.json" "$B/routes-report.json" "the routes report in the bundle"
    assert_eq "$(sha256sum <"$E/routes-report.json" | cut -c1-64)" \
        "$(jq -r '.subject[] | select(.name == "routes-report.json") | .digest.sha256' "$B/statement.json")" "subject digest"
    assert_eq true "$(jq -r .predicate.expand_report.ok "$B/statement.json")" "predicate.expand_report.ok"
    # A failed report is carried and recorded as a problem: the bundle does not verify.
    jq '.ok = false' "$E/routes-report.json" >"$E/r.json"
    cutover evidence collect --manifest "$manifest" --out "$TEST_TMP/bad" --routes-report "$E/r.json"
    must keygen --out "$TEST_TMP/k"
    must evidence sign "$TEST_TMP/bad" --key "$TEST_TMP/k.key"
    cutover evidence verify "$TEST_TMP/bad" --trust "$TEST_TMP/k.pub"
    assert_eq 1 "$RC" "a bundle with a failed routes report does not verify"
    assert_contains "$OUT$ERR" "routes report: "
}

run_test test_live_targets_pass_and_the_report_says_so
run_test test_a_closed_port_and_a_503_fail_naming_the_groups
run_test test_missing_base_urls_are_not_configured_and_bad_flags_are_usage_errors
run_test test_expand_without_reports_is_refused_and_a_note_alone_does_not_advance
run_test test_expand_with_fresh_passing_reports_is_recorded_with_their_digests
run_test test_expand_with_failed_or_foreign_reports_is_refused
run_test test_the_evidence_bundle_carries_both_reports
finish_tests
