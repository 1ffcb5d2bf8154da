// cutover gate status|advance|verify|destructive: the phase ledger (SPEC §7,
// docs/formats/ledger.md). Every command needs an existing ledger (exit 2
// otherwise), except the first expand with --new-ledger, which starts one.
//   status --ledger FILE              each group's phase, what the next gate
//                                     needs, and the head (COUNT:SHA256) to pin;
//                                     exit 1 when the chain is broken
//   advance GROUP PHASE --ledger FILE [--new-ledger] [--routes CONFIG]
//           [--expand-report E --routes-report R [--store NAME=PATH...]]
//           [--manifest M] [--verify-report R]
//           [--evidence DIR --trust PUB... --threshold N] [canary thresholds]
//                                     records the step when its gate holds;
//                                     exit 1 naming every missing piece otherwise
//   verify --ledger FILE --head COUNT:SHA256
//                                     exit 0 when the chain is intact and still
//                                     holds the pinned head, 1 when it was
//                                     truncated or rewritten
//   destructive --ledger FILE [--group G | --routes CONFIG]
//                                     rule 5: exit 0 when destructive changes are
//                                     allowed (the group, or every group of the
//                                     route config, is at contract), 1 otherwise
#include <cstdlib>
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "cli/output.h"
#include "cli/settings.h"
#include "cli/sources.h"
#include "cli/store_args.h"
#include "cutover/gates/gates.h"
#include "cutover/json/writer.h"
#include "cutover/state/pg.h"
#include "cutover/state/pg_ledger.h"

namespace cutover::cli {
namespace {

Result<gates::AdvanceResult> advance_at(base::FileSystem& fs, const std::string& ledger, const std::string& group,
                                        const std::string& phase, const gates::GateInputs& inputs,
                                        const store::SpecRegistry& specs) {
  if (!is_pg_ledger(ledger)) return gates::advance(fs, ledger, group, phase, inputs, specs, base::system_clock());
  TRY(check_pg_ledger_url(ledger));
  gates::OpenLedger open = [&]() -> Result<std::unique_ptr<gates::LedgerAppender>> {
    TRY_ASSIGN(auto conn, state::Connection::connect(ledger));
    TRY_ASSIGN(auto writer, state::PgLedgerWriter::open(std::move(conn)));
    return std::unique_ptr<gates::LedgerAppender>(std::move(writer));
  };
  return gates::advance(fs, open, ledger, group, phase, inputs, specs, base::system_clock());
}

struct StatusArgs {
  std::string ledger;
  bool json = false;
};

struct AdvanceArgs {
  std::string group;
  std::string phase;
  std::string ledger;
  std::string routes;
  std::string expand_report;
  std::string routes_report;
  std::vector<std::string> stores;
  std::string manifest;
  std::string verify_report;
  std::string evidence_dir;
  std::vector<std::string> trust;
  std::string threshold;  // checked against the keys only when given
  bool threshold_given = false;
  std::string note;
  bool new_ledger = false;
  std::string stages = "5,25,50,100";
  int64_t hold_seconds = 600;
  int64_t max_gap_seconds = 120;
  double max_5xx_rate = 0.01;
  double max_p95_ratio = 1.2;
  std::vector<std::string> spec_files;
  bool json = false;
};

struct VerifyLedgerArgs {
  std::string ledger;
  std::string head;
  bool json = false;
};

struct DestructiveArgs {
  std::string ledger;
  std::string group;
  std::string routes;
  bool json = false;
};

int status_main(const StatusArgs& args) {
  auto ledger = read_ledger_at(args.ledger);
  auto groups = ledger ? gates::group_states(*ledger) : tl::unexpected(ledger.error());
  if (!groups) {
    if (args.json) {
      print_json([&](json::Writer& w) {
        w.begin_object().member("schema", "cutover.gate_status.v1").member("ledger", args.ledger);
        w.member("chain_ok", false).member("error", groups.error().message()).end_object();
      });
    }
    return report_error("gate status", groups.error());
  }
  if (args.json) {
    print_json([&](json::Writer& w) { gates::write_ledger_status(w, *ledger, *groups); });
    return k_exit_ok;
  }
  std::cout << "ledger " << args.ledger << ": " << ledger->records.size() << " record(s), chain intact (head "
            << ledger->head_sha256 << ")\n";
  // The chain cannot show lines cut from the end: the operator pins the head elsewhere.
  std::cout << "head: " << gates::head_of(*ledger).text() << " (keep it outside this machine; `cutover gate verify "
            << "--ledger " << args.ledger << " --head " << gates::head_of(*ledger).text()
            << "` proves the ledger still holds it)\n";
  for (const auto& g : *groups) {
    auto next = g.next();
    std::cout << g.group << ": " << gates::phase_name(g.phase) << " since " << g.records.back()->recorded_at;
    if (next) {
      std::cout << "; next " << gates::phase_name(*next) << " needs " << gates::gate_requirements(*next);
    } else {
      std::cout << "; done (destructive changes allowed)";
    }
    std::cout << "\n";
  }
  return k_exit_ok;
}

Result<std::vector<uint64_t>> parse_stages(const std::string& text) {
  std::vector<uint64_t> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (item.empty() || item.size() > 3 || item.find_first_not_of("0123456789") != std::string::npos) {
      return make_error(ErrorCode::invalid_argument,
                        "--canary-stages '" + text + "' must be percentages separated by commas, e.g. 5,25,50,100");
    }
    out.push_back(std::stoull(item));
  }
  return out;
}

int advance_main(const AdvanceArgs& args) {
  base::FileSystem& fs = base::real_file_system();
  auto specs = store::SpecRegistry::with_builtins();
  for (const auto& file : args.spec_files) {
    if (auto st = specs.load_file(fs, file); !st) return report_error("gate advance", st.error());
  }
  gates::GateInputs inputs;
  inputs.routes_path = args.routes;
  inputs.expand_report_path = args.expand_report;
  inputs.routes_report_path = args.routes_report;
  // Like backfill and expand check: --store flags, or without them the
  // reference wrapper's variables.
  auto stores = store_targets(args.stores);
  if (!stores) return report_error("gate advance", stores.error());
  for (auto& s : *stores) inputs.expand_stores.push_back({std::move(s.kind), std::move(s.path)});
  inputs.manifest_path = args.manifest;
  inputs.verify_report_path = args.verify_report;
  inputs.evidence_dir = args.evidence_dir;
  inputs.note = args.note;
  inputs.new_ledger = args.new_ledger;
  auto stages = parse_stages(args.stages);
  if (!stages) return report_error("gate advance", stages.error());
  inputs.canary.stages = *stages;
  inputs.canary.hold_seconds = args.hold_seconds;
  inputs.canary.max_gap_seconds = args.max_gap_seconds;
  inputs.canary.max_5xx_rate = args.max_5xx_rate;
  inputs.canary.max_p95_ratio = args.max_p95_ratio;
  auto trusted = evidence::load_trusted_keys(fs, args.trust);
  if (!trusted) return report_error("gate advance", trusted.error());
  inputs.trusted = std::move(*trusted);
  // Without --trust (expand, migrate, verify) there is nothing to count; a
  // given --threshold must still be a whole number from 1 to the keys.
  if (args.threshold_given) {
    auto threshold = evidence::parse_threshold(args.threshold, inputs.trusted.size());
    if (!threshold) return report_error("gate advance", threshold.error());
    inputs.threshold = *threshold;
  }

  auto result = advance_at(fs, args.ledger, args.group, args.phase, inputs, specs);
  if (!result) return report_error("gate advance", result.error());
  const gates::GateDecision& d = result->decision;
  if (args.json) {
    print_json([&](json::Writer& w) {
      w.begin_object().member("ledger", args.ledger).member("group", d.group);
      w.member_or_null("from", d.from_none ? std::string_view() : gates::phase_name(d.from));
      w.member("to", gates::phase_name(d.to)).member("allowed", d.allowed()).key("missing").begin_array();
      for (const auto& m : d.missing) w.string(m);
      w.end_array().member("evidence", d.evidence.root());
      if (const auto& r = result->record) {
        w.key("record").begin_object().member("seq", r->seq).member("sha256", r->line_sha256);
        w.member("recorded_at", r->recorded_at).end_object();
      }
      w.end_object();
    });
  } else if (d.allowed()) {
    std::cout << "gate advance: " << d.group << " entered " << gates::phase_name(d.to) << " (ledger " << args.ledger
              << " record " << result->record->seq << ", sha256 " << result->record->line_sha256 << ")\n";
  } else {
    for (const auto& m : d.missing) std::cout << "missing: " << m << "\n";
    std::cout << "gate advance: REFUSED: " << d.group << " cannot enter " << gates::phase_name(d.to) << ": "
              << d.missing.size() << " piece(s) of evidence missing or failing; nothing was recorded\n";
  }
  return d.allowed() ? k_exit_ok : k_exit_failed;
}

// gate verify: the chain is intact and still holds the pinned head (a ledger
// cut after any record is a valid shorter chain; only the head shows it).
int verify_ledger_main(const VerifyLedgerArgs& args) {
  auto head = gates::parse_ledger_head(args.head);
  if (!head) return report_error("gate verify", head.error().with_context("--head"));
  auto ledger = read_ledger_at(args.ledger);
  if (!ledger) return report_error("gate verify", ledger.error());
  auto groups = gates::group_states(*ledger);
  Status held = groups ? gates::check_ledger_head(*ledger, *head) : Status(tl::unexpected(groups.error()));
  if (args.json) {
    print_json([&](json::Writer& w) {
      w.begin_object().member("schema", "cutover.ledger_verify.v1").member("ledger", args.ledger);
      w.member("pinned_head", head->text()).member("head", gates::head_of(*ledger).text());
      w.member("ok", bool(held)).member_or_null("error", held ? std::string() : held.error().message());
      w.end_object();
    });
  }
  if (!held) return report_error("gate verify", held.error());
  if (!args.json) {
    std::cout << "gate verify: ok: ledger " << args.ledger << " holds the pinned head " << head->text() << " (now "
              << gates::head_of(*ledger).text() << ")\n";
  }
  return k_exit_ok;
}

int destructive_main(const DestructiveArgs& args) {
  auto ledger = read_ledger_at(args.ledger);
  if (!ledger) return report_error("gate destructive", ledger.error());
  Status allowed;
  if (args.group.empty()) {
    // "Every group" is every group of the route configuration, not only those with a record.
    auto configured = gates::configured_groups(base::real_file_system(), *ledger, args.routes);
    if (!configured) return report_error("gate destructive", configured.error());
    allowed = gates::destructive_changes_allowed_everywhere(*ledger, *configured);
  } else {
    allowed = gates::destructive_changes_allowed(*ledger, args.group);
  }
  if (!allowed && allowed.error().code() != ErrorCode::conflict)
    return report_error("gate destructive", allowed.error());
  if (args.json) {
    print_json([&](json::Writer& w) {
      w.begin_object().member("ledger", args.ledger).member_or_null("group", args.group);
      w.member("allowed", bool(allowed)).member_or_null("reason", allowed ? std::string() : allowed.error().message());
      w.end_object();
    });
  } else if (allowed) {
    std::cout << "gate destructive: allowed: "
              << (args.group.empty() ? "every group of the route config has reached contract"
                                     : args.group + " has reached contract")
              << "\n";
  } else {
    std::cout << "gate destructive: REFUSED: " << allowed.error().message() << "\n";
  }
  return allowed ? k_exit_ok : k_exit_failed;
}

// --ledger, or CUTOVER_LEDGER; one of them is needed.
Status resolve_ledger(std::string& ledger) {
  TRY(fill_from_settings(ledger, "CUTOVER_LEDGER"));
  if (ledger.empty()) return tl::unexpected(missing_setting("CUTOVER_LEDGER", "ledger", "FILE (or postgresql://...)"));
  return {};
}

// gate advance's --trust and --threshold, or CUTOVER_TRUST and
// CUTOVER_THRESHOLD. A threshold from the environment or cutover.conf counts
// only when there are keys: the phases before canary take none.
Status resolve_trust(AdvanceArgs& a) {
  TRY_ASSIGN(a.trust, trusted_key_files(a.trust));
  if (a.threshold_given || a.trust.empty()) return {};
  TRY(fill_from_settings(a.threshold, "CUTOVER_THRESHOLD"));
  a.threshold_given = !a.threshold.empty();
  return {};
}

// Runs `main` once the ledger is resolved; reports the error as `command`.
template <typename Args, typename Main>
int with_ledger(const char* command, Args& args, Main&& main) {
  if (auto st = resolve_ledger(args.ledger); !st) return report_error(command, st.error());
  return main(args);
}

}  // namespace

void add_gate_command(CLI::App& app, int& exit_code) {
  auto* gate = app.add_subcommand("gate", "The phase ledger: each route group's phase and the gates between phases");
  gate->require_subcommand(1);

  auto s = std::make_shared<StatusArgs>();
  auto* status = gate->add_subcommand("status", "Check the ledger's chain and show each group's phase");
  status->add_option("--ledger", s->ledger,
                     "the ledger file (JSON lines), or postgresql://... (the ledger in PostgreSQL); default: "
                     "CUTOVER_LEDGER");
  status->add_flag("--json", s->json, "print the status as JSON");
  status->callback([s, &exit_code] { exit_code = with_ledger("gate status", *s, status_main); });

  auto a = std::make_shared<AdvanceArgs>();
  auto* adv = gate->add_subcommand("advance", "Move GROUP to PHASE if its gate's evidence holds, and record it");
  adv->add_option("GROUP", a->group, "the route group, e.g. billing_l402")->required();
  adv->add_option("PHASE", a->phase, "expand, migrate, verify, canary, cutover or contract (the next one)")->required();
  adv->add_option("--ledger", a->ledger,
                  "the ledger file, or postgresql://...; it must exist unless --new-ledger (default: CUTOVER_LEDGER)");
  adv->add_flag("--new-ledger", a->new_ledger,
                "start a new ledger at --ledger with this first expand (refused when the file exists)");
  adv->add_option("--routes", a->routes,
                  "expand: the route config the service runs with; recorded, so rule 5 knows every group");
  adv->add_option("--expand-report", a->expand_report,
                  "expand: a passing `cutover expand check --out` report (the new release reads both store shapes)");
  adv->add_option("--routes-report", a->routes_report,
                  "expand: a passing `cutover routes check --out` report for the route config (--routes or the "
                  "recorded one)");
  adv->add_option("--store", a->stores,
                  "expand: NAME=PATH, a store the expand report must cover, unchanged since; repeatable. Default: "
                  "AUTH_STORE_PATH, CODEX_THREAD_STORE_PATH, DOMAIN_STORE_PATH");
  adv->add_option("--manifest", a->manifest, "migrate: the complete manifest of the migration");
  adv->add_option("--verify-report", a->verify_report,
                  "verify: a `cutover verify --json` report (default: verify now)");
  adv->add_option("--evidence", a->evidence_dir, "canary, cutover, contract: the signed evidence bundle");
  adv->add_option("--trust", a->trust, "a trusted public key; repeatable (default: CUTOVER_TRUST, comma-separated)");
  auto* threshold = adv->add_option("--threshold", a->threshold,
                                    "distinct trusted keys that must have signed the bundle: 1 to the number of "
                                    "--trust keys (default 1)");
  adv->add_option("--note", a->note, "a note recorded with the step (who, why, ticket)");
  adv->add_option("--canary-stages", a->stages, "contract: rollout percentages, in order")->capture_default_str();
  adv->add_option("--canary-hold", a->hold_seconds, "contract: seconds each stage must be held")->capture_default_str();
  adv->add_option("--canary-max-gap", a->max_gap_seconds, "contract: longest gap between readings, in seconds")
      ->capture_default_str();
  adv->add_option("--max-5xx-rate", a->max_5xx_rate, "contract: a reading's 5xx rate must be under this")
      ->capture_default_str();
  adv->add_option("--max-p95-ratio", a->max_p95_ratio, "contract: p95 at most this times the baseline p95")
      ->capture_default_str();
  adv->add_option("--spec", a->spec_files, "a store spec file for a kind that is not built in; repeatable");
  adv->add_flag("--json", a->json, "print the decision as JSON");
  adv->callback([a, threshold, &exit_code] {
    a->threshold_given = threshold->count() > 0;
    if (auto st = resolve_trust(*a); !st) {
      exit_code = report_error("gate advance", st.error());
      return;
    }
    exit_code = with_ledger("gate advance", *a, advance_main);
  });

  auto v = std::make_shared<VerifyLedgerArgs>();
  auto* ver = gate->add_subcommand("verify", "Check the ledger's chain and that it still holds a pinned head");
  ver->add_option("--ledger", v->ledger, "the ledger file, or postgresql://... (default: CUTOVER_LEDGER)");
  ver->add_option("--head", v->head, "COUNT:SHA256 as `gate status` printed it (head:), kept elsewhere")->required();
  ver->add_flag("--json", v->json, "print the answer as JSON");
  ver->callback([v, &exit_code] { exit_code = with_ledger("gate verify", *v, verify_ledger_main); });

  auto d = std::make_shared<DestructiveArgs>();
  auto* des = gate->add_subcommand("destructive", "Rule 5: may a destructive schema or data change run now?");
  des->add_option("--ledger", d->ledger, "the ledger file, or postgresql://... (default: CUTOVER_LEDGER)");
  des->add_option("--group", d->group,
                  "the route group whose stores change (default: every group must be at contract)");
  des->add_option("--routes", d->routes,
                  "without --group: the route config whose groups must all be at contract (default: the one "
                  "recorded at expand)");
  des->add_flag("--json", d->json, "print the answer as JSON");
  des->callback([d, &exit_code] { exit_code = with_ledger("gate destructive", *d, destructive_main); });
}

}  // namespace cutover::cli
