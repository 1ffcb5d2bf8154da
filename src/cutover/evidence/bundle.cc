#include "cutover/evidence/bundle.h"

#include <algorithm>
#include <map>
#include <set>

#include "cutover/base/version.h"
#include "cutover/evidence/bundle_readers.h"
#include "cutover/evidence/dsse.h"
#include "cutover/evidence/expand_evidence.h"
#include "cutover/hash/file_hash.h"
#include "cutover/hash/sha256.h"
#include "cutover/json/field_reader.h"
#include "cutover/json/parser.h"
#include "cutover/manifest/manifest.h"
#include "cutover/manifest/manifest_file.h"
#include "cutover/verify/verify.h"

namespace cutover::evidence {

std::string in_dir(const std::string& dir, std::string_view name) { return base::join_path(dir, std::string(name)); }

Result<std::string> read_text(base::FileSystem& fs, const std::string& path, std::string_view what) {
  TRY_ASSIGN_CTX(base::Buffer bytes, fs.read_file(path), "cannot read " + std::string(what) + " " + path);
  return std::string(bytes.view());
}

Result<ReportSummary> read_verify_report(std::string_view text, const std::string& source) {
  auto doc = json::parse(text);
  if (!doc) return make_error(ErrorCode::invalid_argument, source + " is not valid JSON: " + doc.error().message());
  std::vector<std::string> problems;
  json::FieldReader r(doc->root(), "verify report", problems);
  std::string schema = r.string("schema");
  ReportSummary out;
  out.ok = r.boolean("ok");
  out.finding_count = r.u64("finding_count");
  if (const json::Node* m = r.object("manifest")) {
    json::FieldReader mr(*m, "verify report.manifest", problems);
    out.manifest_sha256 = mr.string("sha256");
  }
  if (r.get("schema") != nullptr && r.get("schema")->is_string() && schema != verify::k_report_schema) {
    r.problem("schema", "is '" + schema + "', expected '" + std::string(verify::k_report_schema) +
                            "' (the JSON report of `cutover verify --json`)");
  }
  if (!problems.empty()) {
    return make_error(ErrorCode::invalid_argument,
                      source + " is not a usable verify report: " + json::join_problems(problems));
  }
  out.value = std::move(*doc);
  return out;
}

// The harness summary's overall_status.
Result<std::string> read_harness_summary(std::string_view text, const std::string& source) {
  auto doc = json::parse(text);
  if (!doc) return make_error(ErrorCode::invalid_argument, source + " is not valid JSON: " + doc.error().message());
  std::vector<std::string> problems;
  json::FieldReader r(doc->root(), "harness summary", problems);
  std::string schema = r.string("schema");
  std::string status = r.string("overall_status");
  if (r.get("schema") != nullptr && r.get("schema")->is_string() && schema != k_harness_schema) {
    r.problem("schema", "is '" + schema + "', expected '" + std::string(k_harness_schema) + "'");
  }
  if (r.get("overall_status") != nullptr && status != "passed" && status != "failed") {
    r.problem("overall_status", "is '" + status + "', expected passed or failed");
  }
  if (!problems.empty()) {
    return make_error(ErrorCode::invalid_argument,
                      source + " is not a usable harness summary: " + json::join_problems(problems));
  }
  return status;
}
namespace {

BackupProof backup_from(const json::Node& node, const std::string& where, std::vector<std::string>& problems) {
  json::FieldReader r(node, where, problems);
  BackupProof p;
  p.store = r.string("store");
  p.store_path = r.string("store_path");
  p.existed = r.boolean("existed");
  p.backup_path = r.optional_string("backup_path");
  p.before_sha256 = r.optional_string("before_sha256");
  p.size = r.optional_u64("size");
  p.sha256 = r.optional_string("sha256");
  p.retained = r.boolean("retained");
  p.problem = r.optional_string("problem").value_or("");
  if (p.existed && (!p.backup_path || !p.before_sha256)) {
    r.problem("backup_path", "a store that existed needs backup_path and before_sha256");
  }
  return p;
}
bool plain_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\0') == std::string::npos;
}

struct Subject {
  std::string name;
  std::string sha256;
};

// statement.json parsed far enough for verify and the gates.
struct ParsedStatement {
  std::vector<Subject> subjects;
  BundleContents contents;
};

Result<ParsedStatement> parse_statement(std::string_view text, const std::string& source) {
  auto doc = json::parse(text);
  if (!doc) return make_error(ErrorCode::invalid_argument, source + " is not valid JSON: " + doc.error().message());
  std::vector<std::string> problems;
  ParsedStatement out;
  json::FieldReader r(doc->root(), "statement", problems);
  std::string type = r.string("_type");
  std::string predicate_type = r.string("predicateType");
  if (r.get("_type") != nullptr && type != k_statement_type) {
    r.problem("_type", "is '" + type + "', expected '" + std::string(k_statement_type) + "'");
  }
  if (r.get("predicateType") != nullptr && predicate_type != k_predicate_type) {
    r.problem("predicateType", "is '" + predicate_type + "', expected '" + std::string(k_predicate_type) + "'");
  }
  if (const json::Node* subjects = r.array("subject")) {
    for (size_t i = 0; i < subjects->size(); ++i) {
      std::string where = "statement.subject[" + std::to_string(i) + "]";
      json::FieldReader s(subjects->elements()[i], where, problems);
      Subject sub;
      sub.name = s.string("name");
      if (const json::Node* digest = s.object("digest")) {
        json::FieldReader d(*digest, where + ".digest", problems);
        sub.sha256 = d.string("sha256");
        if (!sub.sha256.empty() && !hash::is_sha256_hex(sub.sha256))
          d.problem("sha256", "is not 64 lower-case hex characters");
      }
      out.subjects.push_back(std::move(sub));
    }
  }
  if (const json::Node* pred = r.object("predicate")) {
    json::FieldReader p(*pred, "statement.predicate", problems);
    std::string schema = p.string("schema");
    if (p.get("schema") != nullptr && schema != k_evidence_schema) {
      p.problem("schema", "is '" + schema + "', expected '" + std::string(k_evidence_schema) + "'");
    }
    out.contents.collected_at = p.string("collected_at");
    out.contents.release_train = p.string("release_train");
    if (const json::Node* m = p.object("manifest")) {
      json::FieldReader mr(*m, "statement.predicate.manifest", problems);
      out.contents.manifest_sha256 = mr.string("sha256");
      out.contents.manifest_source_path = mr.string("source_path");
      out.contents.run_id = mr.string("run_id");
    }
    if (const json::Node* ledger = p.get("ledger"); ledger != nullptr && !ledger->is_null()) {
      json::FieldReader lr(*ledger, "statement.predicate.ledger", problems);
      std::string path = lr.string("path");
      uint64_t records = lr.u64("records");
      std::string head_sha = lr.string("head_sha256");
      if (lr.ok()) {
        if (!hash::is_sha256_hex(head_sha)) {
          lr.problem("head_sha256", "'" + head_sha + "' is not a SHA-256 (64 lower-case hex characters)");
        } else if (records == 0 && head_sha != std::string(64, '0')) {
          lr.problem("head_sha256", "an empty ledger's head is 64 zeros");
        } else {
          out.contents.ledger = LedgerPin{path, records, head_sha};
        }
      }
    }
    if (const json::Node* backups = p.array("backups")) {
      for (size_t i = 0; i < backups->size(); ++i) {
        out.contents.backups.push_back(
            backup_from(backups->elements()[i], "statement.predicate.backups[" + std::to_string(i) + "]", problems));
      }
    }
  }
  if (!problems.empty()) {
    return make_error(ErrorCode::invalid_argument,
                      source + " is not a usable evidence statement: " + json::join_problems(problems));
  }
  return out;
}

// Checks each subject's digest and that the folder holds nothing else.
void check_subjects(base::FileSystem& fs, const std::string& dir, const std::vector<Subject>& subjects,
                    std::vector<std::string>& problems) {
  std::set<std::string> names;
  for (const auto& s : subjects) {
    if (!plain_name(s.name) || s.name == k_statement_file || s.name == k_envelope_file) {
      problems.push_back("statement subject '" + s.name + "' is not a file name of the bundle");
      continue;
    }
    if (!names.insert(s.name).second) {
      problems.push_back("statement lists " + s.name + " twice");
      continue;
    }
    std::string path = in_dir(dir, s.name);
    auto info = fs.stat(path);
    if (!info || !info->exists) {
      problems.push_back(s.name + " is missing from the bundle (the statement lists it)");
      continue;
    }
    if (!info->is_regular || info->is_symlink) {
      problems.push_back(s.name + " is not a regular file");
      continue;
    }
    auto digest = hash::hash_file(fs, path);
    if (!digest) {
      problems.push_back(s.name + " cannot be read: " + digest.error().message());
    } else if (digest->sha256 != s.sha256) {
      problems.push_back(s.name + " hashes to " + digest->sha256 + ", the statement says " + s.sha256 +
                         " (the file was changed after it was collected)");
    }
  }
  for (std::string_view required : {k_manifest_file, k_verify_report_file, k_counts_file}) {
    if (!names.count(std::string(required))) {
      problems.push_back("the statement does not list " + std::string(required) + ", which every bundle needs");
    }
  }
  auto listing = fs.list_directory(dir);
  if (!listing) {
    problems.push_back("cannot list the bundle folder: " + listing.error().message());
    return;
  }
  std::vector<std::string> sorted = *listing;
  std::sort(sorted.begin(), sorted.end());
  for (const auto& name : sorted) {
    if (name == k_statement_file || name == k_envelope_file || names.count(name)) continue;
    problems.push_back(name +
                       " is in the bundle folder but not in the statement (nothing vouches for it; remove it "
                       "or collect a new bundle)");
  }
}

// The evidence itself: a passing verification of this manifest, backups
// retained, a passing drill and harness when present.
void check_contents(base::FileSystem& fs, const std::string& dir, const std::vector<Subject>& subjects,
                    BundleContents& contents, std::vector<std::string>& problems) {
  auto listed = [&](std::string_view name) {
    return std::any_of(subjects.begin(), subjects.end(), [&](const Subject& s) { return s.name == name; });
  };
  std::string manifest_sha;
  if (listed(k_manifest_file)) {
    auto text = read_text(fs, in_dir(dir, k_manifest_file), "manifest");
    if (!text) {
      problems.push_back(text.error().message());
    } else {
      manifest_sha = hash::sha256_hex(*text);
      auto m = manifest::parse_manifest(*text, std::string(k_manifest_file));
      if (!m) {
        problems.push_back(m.error().message());
      } else if (m->status != manifest::k_status_complete) {
        problems.push_back("manifest.json has status '" + m->status + "': only a complete migration can be cut over");
      }
      if (manifest_sha != contents.manifest_sha256) {
        problems.push_back("manifest.json hashes to " + manifest_sha + ", the statement's predicate names manifest " +
                           contents.manifest_sha256);
      }
    }
  }
  if (listed(k_verify_report_file)) {
    auto text = read_text(fs, in_dir(dir, k_verify_report_file), "verify report");
    auto report = text ? read_verify_report(*text, std::string(k_verify_report_file)) : tl::unexpected(text.error());
    if (!report) {
      problems.push_back(report.error().message());
    } else {
      if (!report->ok || report->finding_count != 0) {
        problems.push_back("the verification failed: verify-report.json has " + std::to_string(report->finding_count) +
                           " finding(s) (see its findings); fix them, verify again and collect a new bundle");
      }
      if (!manifest_sha.empty() && report->manifest_sha256 != manifest_sha) {
        problems.push_back("verify-report.json is about manifest " + report->manifest_sha256 +
                           ", not this bundle's manifest.json (" + manifest_sha + ")");
      }
    }
  }
  for (const auto& b : contents.backups) {
    if (!b.retained) {
      problems.push_back("backup of [" + b.store + "] was not retained when collected: " +
                         (b.problem.empty() ? std::string("no proof recorded") : b.problem));
    }
  }
  if (contents.backups.empty()) problems.push_back("the statement proves no backup (its manifest has no stores?)");
  if (listed(k_drill_report_file)) {
    auto text = read_text(fs, in_dir(dir, k_drill_report_file), "drill report");
    auto drill = text ? parse_drill_report(*text, std::string(k_drill_report_file)) : tl::unexpected(text.error());
    if (!drill) {
      problems.push_back(drill.error().message());
    } else {
      if (!drill->ok) {
        problems.push_back("the rollback drill failed: " + (drill->failed_steps.empty()
                                                                ? std::string("its report says ok: false")
                                                                : json::join_problems(drill->failed_steps)));
      }
      contents.drill = *drill;
    }
  }
  // Issue 17: a bundle that carries an expand or routes report that did not pass is refused.
  if (listed(k_expand_report_file)) {
    auto r = read_expand_report(fs, in_dir(dir, k_expand_report_file));
    if (!r) problems.push_back(r.error().message());
    for (const auto& p : r ? r->problems : std::vector<std::string>{}) problems.push_back("expand report: " + p);
  }
  if (listed(k_routes_report_file)) {
    auto r = read_routes_report(fs, in_dir(dir, k_routes_report_file));
    if (!r) problems.push_back(r.error().message());
    for (const auto& p : r ? r->problems : std::vector<std::string>{}) problems.push_back("routes report: " + p);
  }
  if (listed(k_harness_summary_file)) {
    auto text = read_text(fs, in_dir(dir, k_harness_summary_file), "harness summary");
    auto status =
        text ? read_harness_summary(*text, std::string(k_harness_summary_file)) : tl::unexpected(text.error());
    if (!status) {
      problems.push_back(status.error().message());
    } else {
      if (*status != "passed") problems.push_back("the harness summary's overall_status is " + *status);
      contents.harness_status = *status;
    }
  }
  if (listed(k_canary_samples_file)) {
    auto text = read_text(fs, in_dir(dir, k_canary_samples_file), "canary samples");
    auto samples =
        text ? parse_canary_samples(*text, std::string(k_canary_samples_file)) : tl::unexpected(text.error());
    if (!samples)
      problems.push_back(samples.error().message());
    else
      contents.canary = *samples;
  }
}
}  // namespace

Result<SignResult> sign_bundle(base::FileSystem& fs, const std::string& dir, const hash::Ed25519PrivateKey& key) {
  std::string statement_path = in_dir(dir, k_statement_file);
  TRY_ASSIGN(std::string statement, read_text(fs, statement_path, "statement"));
  TRY_ASSIGN(ParsedStatement parsed, parse_statement(statement, statement_path));
  std::vector<std::string> problems;
  check_subjects(fs, dir, parsed.subjects, problems);
  if (!problems.empty()) {
    return make_error(ErrorCode::corruption, "refusing to sign " + dir +
                                                 ": it does not match its statement: " + json::join_problems(problems));
  }
  SignResult out;
  std::vector<std::string> content_problems;
  check_contents(fs, dir, parsed.subjects, parsed.contents, content_problems);
  for (const auto& p : content_problems) out.warnings.push_back("the bundle records a failure: " + p);

  out.envelope_path = in_dir(dir, k_envelope_file);
  Envelope envelope{std::string(k_in_toto_payload_type), statement, {}};
  TRY_ASSIGN(base::FileInfo info, fs.stat(out.envelope_path));
  if (info.exists) {
    TRY_ASSIGN(std::string text, read_text(fs, out.envelope_path, "envelope"));
    TRY_ASSIGN(Envelope existing, parse_envelope(text, out.envelope_path));
    if (existing.payload != statement || existing.payload_type != k_in_toto_payload_type) {
      return make_error(ErrorCode::conflict,
                        out.envelope_path + " signs a different statement than " + statement_path +
                            " (the bundle was collected again, or one of them was changed); its signatures cannot "
                            "carry over: collect the bundle into a new folder and sign that");
    }
    envelope.signatures = std::move(existing.signatures);
  }
  DsseSignature sig = sign_payload(envelope, key);
  out.keyid = sig.keyid;
  out.replaced = add_signature(envelope, std::move(sig));
  out.signature_count = envelope.signatures.size();
  TRY(base::write_file_atomic(fs, out.envelope_path, to_json(envelope) + "\n"));
  return out;
}

std::vector<std::string> check_backups_still_retained(base::FileSystem& fs, const std::vector<BackupProof>& backups) {
  std::vector<std::string> problems;
  for (const auto& b : backups) {
    if (!b.existed) continue;
    if (!b.backup_path || !b.sha256 || !b.size) {
      problems.push_back("[" + b.store + "] the bundle proves no backup for a store that existed");
      continue;
    }
    auto digest = hash::hash_file(fs, *b.backup_path);
    if (!digest) {
      problems.push_back("[" + b.store + "] backup " + *b.backup_path +
                         " is no longer retained: " + digest.error().message());
    } else if (digest->sha256 != *b.sha256 || digest->size != *b.size) {
      problems.push_back("[" + b.store + "] backup " + *b.backup_path + " changed since it was collected: now " +
                         std::to_string(digest->size) + " bytes, SHA-256 " + digest->sha256 + "; the bundle proved " +
                         std::to_string(*b.size) + " bytes, " + *b.sha256);
    }
  }
  return problems;
}

BundleCheck verify_bundle(base::FileSystem& fs, const std::string& dir, const VerifyBundleOptions& options) {
  BundleCheck check;
  check.dir = dir;
  check.threshold = options.threshold;
  auto& problems = check.problems;

  std::string statement_path = in_dir(dir, k_statement_file);
  auto statement = read_text(fs, statement_path, "statement");
  if (!statement) {
    problems.push_back(statement.error().message() + " (is " + dir + " an evidence bundle?)");
    return check;
  }
  check.contents.statement_sha256 = hash::sha256_hex(*statement);
  auto parsed = parse_statement(*statement, statement_path);
  if (parsed) {
    std::string sha = check.contents.statement_sha256;
    check.contents = parsed->contents;
    check.contents.statement_sha256 = sha;
    for (const auto& s : parsed->subjects) check.contents.files.push_back(s.name);
    check_subjects(fs, dir, parsed->subjects, problems);
    check_contents(fs, dir, parsed->subjects, check.contents, problems);
    if (options.check_backups) {
      for (auto& p : check_backups_still_retained(fs, check.contents.backups)) problems.push_back(std::move(p));
    }
  } else {
    problems.push_back(parsed.error().message());
  }

  // The envelope: canonical, over exactly statement.json, every signature good.
  std::string envelope_path = in_dir(dir, k_envelope_file);
  auto envelope_text = read_text(fs, envelope_path, "envelope");
  std::optional<Envelope> envelope;
  if (!envelope_text) {
    problems.push_back(envelope_text.error().message() + ": the bundle is not signed (cutover evidence sign " + dir +
                       " --key KEY)");
  } else {
    auto env = parse_envelope(*envelope_text, envelope_path);
    if (!env) {
      problems.push_back(env.error().message());
    } else {
      envelope = std::move(*env);
      if (to_json(*envelope) + "\n" != *envelope_text) {
        problems.push_back(envelope_path +
                           " is not in the canonical form cutover writes (was it edited?); every "
                           "byte of a bundle is checked");
      }
      if (envelope->payload_type != k_in_toto_payload_type) {
        problems.push_back(envelope_path + ": payloadType is '" + envelope->payload_type + "', expected '" +
                           std::string(k_in_toto_payload_type) + "'");
      }
      if (envelope->payload != *statement) {
        problems.push_back(envelope_path +
                           ": the payload is not the bytes of statement.json (one of them was "
                           "changed after signing)");
      }
    }
  }
  if (envelope) {
    std::set<std::string> signers;
    for (size_t i = 0; i < envelope->signatures.size(); ++i) {
      const DsseSignature& sig = envelope->signatures[i];
      SignatureCheck sc;
      sc.index = i;
      sc.keyid = sig.keyid;
      auto key = std::find_if(options.trusted.begin(), options.trusted.end(),
                              [&](const TrustedKey& k) { return k.keyid == sig.keyid; });
      if (key == options.trusted.end() && options.list_unknown_signers) {
        // Listed, not judged: the caller says the signatures were not checked.
      } else if (key == options.trusted.end()) {
        problems.push_back("signature " + std::to_string(i + 1) + " is by key " + sig.keyid +
                           ", which is not among the trusted keys (--trust); an unknown signer is refused");
      } else {
        sc.trusted_key = key->path;
        // The signature is checked against the payload signed and, through
        // the payload check above, against statement.json.
        sc.valid = verify_signature(*envelope, sig, key->key);
        if (!sc.valid) {
          problems.push_back("signature " + std::to_string(i + 1) + " by trusted key " + sig.keyid + " (" + key->path +
                             ") does not verify: the statement or the signature was changed");
        } else {
          signers.insert(sig.keyid);
        }
      }
      check.signatures.push_back(std::move(sc));
    }
    check.trusted_signers.assign(signers.begin(), signers.end());
  }
  if (check.trusted_signers.size() < options.threshold) {
    problems.push_back("threshold not met: " + std::to_string(check.trusted_signers.size()) + " of the required " +
                       std::to_string(options.threshold) + " distinct trusted keys signed validly");
  }
  return check;
}

void BundleCheck::write_json(json::Writer& w) const {
  w.begin_object().member("schema", "cutover.evidence_check.v1").member("bundle", dir).member("ok", ok());
  w.member("statement_sha256", contents.statement_sha256).member("manifest_sha256", contents.manifest_sha256);
  w.member("release_train", contents.release_train).key("files").begin_array();
  for (const auto& f : contents.files) w.string(f);
  w.end_array().member("threshold", threshold).key("trusted_signers").begin_array();
  for (const auto& k : trusted_signers) w.string(k);
  w.end_array().key("signatures").begin_array();
  for (const auto& s : signatures) {
    w.begin_object().member("index", s.index).member("keyid", s.keyid);
    w.member_or_null("trusted_key", s.trusted_key).member("valid", s.valid).end_object();
  }
  w.end_array().key("problems").begin_array();
  for (const auto& p : problems) w.string(p);
  w.end_array().end_object();
}

}  // namespace cutover::evidence
