#!/usr/bin/env bash
# End-to-end tests of installing cutover (issue 16, "Install and discover"):
# `cmake --install` into a DESTDIR with PREFIX=/usr, then the README's quick
# start run verbatim from the installed tree, the installed `cutover harness`
# from another folder, the generated bash completion and man pages, `cutover
# help`, the parser's "did you mean", and `make package`'s .deb.
#   tests/e2e/install.sh [path/to/cutover [path/to/build]]
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
source "$here/lib.sh"
e2e_binary install "${1:-}" jq man cpack dpkg-deb
BUILD="$(realpath "${2:-$(dirname "$BIN")}")"
README="$root/README.md"

# install_tree: the build installed under $TEST_TMP/dest with PREFIX=/usr;
# sets DEST and puts its bin/ first on PATH.
install_tree() {
    DEST="$TEST_TMP/dest"
    DESTDIR="$DEST" cmake --install "$BUILD" --prefix /usr >"$TEST_TMP/install.log" 2>&1 ||
        fatal "cmake --install failed: $(cat "$TEST_TMP/install.log")"
    export PATH="$DEST/usr/bin:$PATH"
}

# quick_start: the README's quick-start block, exactly as written.
quick_start() {
    awk '/<!-- quick-start:/ { marked = 1; next }
         marked && /^```bash$/ { inside = 1; next }
         inside && /^```$/ { exit }
         inside { print }' "$README"
}

test_install_lays_out_the_tree() {
    install_tree
    local f
    for f in usr/bin/cutover usr/share/man/man1/cutover.1 usr/share/man/man1/cutover-backfill.1 \
        usr/share/man/man1/cutover-routes.1 usr/share/bash-completion/completions/cutover \
        usr/share/cutover/RUNBOOK.md usr/share/cutover/SPEC.md usr/share/cutover/formats/manifest.md \
        usr/share/cutover/examples/cutover-serve.service; do
        assert_file_exists "$DEST/$f" "installed $f"
    done
    # One man page per command `cutover help` lists (a new command gets one with no edit).
    local commands cmd
    commands="$(command cutover help | awk '/^Subcommands:/ { f = 1; next } f && !NF { exit } f { print $1 }')"
    [[ -n "$commands" ]] || fatal "cutover help lists no commands"
    for cmd in $commands; do
        assert_file_exists "$DEST/usr/share/man/man1/cutover-$cmd.1" "man page of $cmd"
    done
    assert_contains "$(cat "$DEST/usr/share/cutover/examples/cutover-serve.service")" "ExecStart=/usr/bin/cutover serve" \
        "systemd unit example"
}

test_readme_quick_start_runs_from_the_installed_tree() {
    install_tree
    local script out rc
    script="$(quick_start)"
    [[ -n "$script" ]] || fatal "README.md has no quick-start block"
    assert_contains "$script" "cutover harness" "quick start runs the harness"
    mkdir -p "$TEST_TMP/home" && cd "$TEST_TMP/home" || fatal "cd"
    out="$(TMPDIR="$TEST_TMP" bash -euo pipefail -c "$script" 2>&1)"
    rc=$?
    assert_eq 0 "$rc" "the README quick start's exit status (output: $out)"
    assert_contains "$out" "verify: ok: 3 stores verified" "verify in the quick start"
    assert_contains "$out" "rollback: ok: 3 stores" "rollback in the quick start"
    assert_contains "$out" "| runbook_present | pass |" "the installed harness finds the installed runbook"
}

test_installed_harness_passes_from_another_folder() {
    install_tree
    mkdir -p "$TEST_TMP/elsewhere" && cd "$TEST_TMP/elsewhere" || fatal "cd"
    local out rc
    out="$(command cutover harness --out runs 2>"$TEST_TMP/err")"
    rc=$?
    assert_eq 0 "$rc" "installed harness exit status ($(tail -n 3 "$TEST_TMP/err"))"
    assert_match "$out" "summary: $TEST_TMP/elsewhere/runs/" "summary under the current folder"
    local summary
    summary="$(ls "$TEST_TMP"/elsewhere/runs/*/summary.json | head -n 1)"
    assert_eq passed "$(jq -r .overall_status "$summary")" "overall status"
    assert_contains "$(cat "$(dirname "$summary")/logs/runbook_present.log")" "$DEST/usr/share/cutover/RUNBOOK.md" \
        "the runbook read is the installed copy"
}

test_bash_completion() {
    install_tree
    local script="$DEST/usr/share/bash-completion/completions/cutover"
    bash -n "$script" || _e2e_fail "bash -n $script"
    assert_eq "$(cat "$script")" "$(command cutover completion bash)" "installed script = cutover completion bash"
    # Complete `cutover ba`, `cutover routes ch`, `cutover backfill --wo` and `cutover help ro`.
    local got
    got="$(bash -c 'source "$1"; COMP_WORDS=(cutover ba); COMP_CWORD=1; _cutover; echo "${COMPREPLY[*]}"' _ "$script")"
    assert_eq "backfill baseline" "$got" "completion of 'cutover ba' (both commands)"
    got="$(bash -c 'source "$1"; COMP_WORDS=(cutover routes ch); COMP_CWORD=2; _cutover; echo "${COMPREPLY[*]}"' _ "$script")"
    assert_eq "check" "$got" "completion of 'cutover routes ch'"
    got="$(bash -c 'source "$1"; COMP_WORDS=(cutover backfill --wo); COMP_CWORD=2; _cutover; echo "${COMPREPLY[*]}"' _ "$script")"
    assert_eq "--work-dir" "$got" "completion of 'cutover backfill --wo'"
    got="$(bash -c 'source "$1"; COMP_WORDS=(cutover help ro); COMP_CWORD=2; _cutover; echo "${COMPREPLY[*]}"' _ "$script")"
    assert_eq "rollback routes" "$got" "completion of 'cutover help ro'"
    # After an option that takes a value, nothing is offered (bash falls back to file names).
    got="$(bash -c 'source "$1"; COMP_WORDS=(cutover backfill --work-dir ""); COMP_CWORD=3; _cutover; echo "${#COMPREPLY[@]}"' _ "$script")"
    assert_eq 0 "$got" "completion after --work-dir"
}

test_man_pages_render() {
    install_tree
    local page out rc
    for page in cutover cutover-backfill cutover-gate; do
        out="$(MANWIDTH=100 man -l "$DEST/usr/share/man/man1/$page.1" 2>"$TEST_TMP/man.err")"
        rc=$?
        assert_eq 0 "$rc" "man -l $page.1"
        assert_eq "" "$(cat "$TEST_TMP/man.err")" "man -l $page.1 warnings"
    done
    out="$(MANWIDTH=100 man -l "$DEST/usr/share/man/man1/cutover-backfill.1")"
    assert_match "$out" "SYNOPSIS[[:space:]]+cutover backfill \[OPTIONS\]" "synopsis"
    assert_contains "$out" "--work-dir" "an option of backfill"
    assert_contains "$out" "--version" "--version on every command"
    out="$(MANWIDTH=100 man -l "$DEST/usr/share/man/man1/cutover-gate.1")"
    assert_contains "$out" "cutover gate advance" "a subcommand's section"
}

test_help_version_and_did_you_mean() {
    cutover help
    assert_eq 0 "$RC" "cutover help"
    assert_contains "$OUT" "backfill" "cutover help lists backfill"
    cutover help routes check
    assert_eq 0 "$RC" "cutover help routes check"
    assert_contains "$OUT" "Usage: cutover routes check" "help of a nested command"
    cutover version
    assert_eq "0 cutover 0.1.0" "$RC $OUT" "cutover version"
    cutover verify --version
    assert_eq "0 cutover 0.1.0" "$RC $OUT" "verify --version"
    cutover backfil
    assert_eq 2 "$RC" "cutover backfil"
    assert_match "$ERR" "^cutover: error: unknown command 'backfil'; did you mean 'backfill'\?" "cutover backfil"
    cutover routes chek
    assert_eq 2 "$RC" "cutover routes chek"
    assert_match "$ERR" "^cutover routes: error: unknown command 'chek'; did you mean 'check'\?" "cutover routes chek"
    cutover backfill --jsn
    assert_eq 2 "$RC" "cutover backfill --jsn"
    assert_match "$ERR" "^cutover backfill: error: unknown option '--jsn'; did you mean '--json'\?" "backfill --jsn"
    cutover verify
    assert_eq 2 "$RC" "cutover verify (no manifest)"
    assert_match "$ERR" "^cutover verify: error: MANIFEST is required" "verify with no manifest"
    cutover help backfil
    assert_eq 2 "$RC" "cutover help backfil"
    assert_match "$ERR" "^cutover help: error: unknown command 'backfil'; did you mean 'backfill'\?" "help backfil"
    cutover xyzzy
    assert_eq 2 "$RC" "cutover xyzzy"
    assert_not_contains "$ERR" "did you mean" "no suggestion for a word near nothing"
    cutover
    assert_eq 2 "$RC" "cutover with no command"
    assert_match "$ERR" "^cutover: error: a command is required" "cutover with no command"
}

test_make_package_builds_a_deb() {
    cpack -G DEB --config "$BUILD/CPackConfig.cmake" -B "$TEST_TMP/pkg" >"$TEST_TMP/cpack.log" 2>&1 ||
        fatal "cpack failed: $(tail -n 20 "$TEST_TMP/cpack.log")"
    local deb info contents
    deb="$(ls "$TEST_TMP"/pkg/cutover_*.deb 2>/dev/null | head -n 1)"
    [[ -n "$deb" ]] || fatal "no .deb in $TEST_TMP/pkg"
    info="$(dpkg-deb --info "$deb")"
    assert_match "$info" "Package: cutover" "package name"
    # The Depends are the Debian packages the binary links (dpkg-shlibdeps).
    assert_match "$info" "Depends:.*libc6" "depends on libc6"
    assert_match "$info" "Depends:.*libssl3" "depends on libssl3"
    assert_match "$info" "Depends:.*libstdc\+\+6" "depends on libstdc++6"
    contents="$(dpkg-deb --contents "$deb")"
    local f
    for f in ./usr/bin/cutover ./usr/share/man/man1/cutover-backfill.1 ./usr/share/bash-completion/completions/cutover \
        ./usr/share/cutover/RUNBOOK.md ./usr/share/cutover/examples/cutover-serve.service; do
        assert_contains "$contents" " $f" "the .deb holds $f"
    done
    # Unpacked (as dpkg would, without a chroot), its cutover runs the harness from another folder.
    dpkg-deb -x "$deb" "$TEST_TMP/root" || fatal "dpkg-deb -x"
    mkdir -p "$TEST_TMP/elsewhere" && cd "$TEST_TMP/elsewhere" || fatal "cd"
    "$TEST_TMP/root/usr/bin/cutover" harness --out runs >/dev/null 2>"$TEST_TMP/err"
    assert_eq 0 "$?" "the packaged cutover's harness ($(tail -n 3 "$TEST_TMP/err"))"
}

run_test test_install_lays_out_the_tree
run_test test_readme_quick_start_runs_from_the_installed_tree
run_test test_installed_harness_passes_from_another_folder
run_test test_bash_completion
run_test test_man_pages_render
run_test test_help_version_and_did_you_mean
run_test test_make_package_builds_a_deb
finish_tests
