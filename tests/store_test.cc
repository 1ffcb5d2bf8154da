// Store specs (built-in and parsed), migration operations and counts (SPEC §1),
// and the reference fixtures' counts (SPEC §8).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <map>
#include <ostream>
#include <string>
#include <tuple>
#include <vector>

#include "cutover/base/file_system.h"
#include "cutover/json/canonical_writer.h"
#include "cutover/json/parser.h"
#include "cutover/store/counts.h"
#include "cutover/store/fixtures.h"
#include "cutover/store/migration.h"
#include "cutover/store/store_spec.h"
#include "test_util.h"

namespace cutover::store {
namespace {

using OpTuple = std::tuple<OperationKind, std::string, std::string, std::string>;
using CountTuple = std::tuple<std::string, CountKind, std::string>;

std::vector<OpTuple> ops_of(const StoreSpec& spec) {
  std::vector<OpTuple> out;
  for (const Operation& op : spec.operations) out.emplace_back(op.kind, op.key, op.collection, op.id_field);
  return out;
}

std::vector<CountTuple> counts_of(const StoreSpec& spec) {
  std::vector<CountTuple> out;
  for (const CountRule& c : spec.counts) out.emplace_back(c.name, c.kind, c.key);
  return out;
}

OpTuple ensure_object(const std::string& key) { return {OperationKind::ensure_object, key, "", ""}; }
OpTuple ensure_array(const std::string& key) { return {OperationKind::ensure_array, key, "", ""}; }
OpTuple counter(const std::string& key, const std::string& collection) {
  return {OperationKind::counter_from_max, key, collection, "id"};
}

const StoreSpec& builtin(const std::string& name) {
  static const SpecRegistry registry = SpecRegistry::with_builtins();
  auto spec = registry.find(name);
  if (!spec) {
    ADD_FAILURE() << spec.error().message();
    std::abort();
  }
  return **spec;
}

// ---------------------------------------------------------------------------
// Built-in specs: exactly SPEC §1.

TEST(BuiltinSpecs, RegistryHoldsTheThreeKinds) {
  SpecRegistry registry = SpecRegistry::with_builtins();
  EXPECT_EQ(registry.names(), (std::vector<std::string>{"auth", "codex_threads", "domain"}));
  for (const std::string& name : registry.names()) {
    auto spec = registry.find(name);
    ASSERT_TRUE(spec);
    EXPECT_EQ((*spec)->store, name);
    EXPECT_EQ((*spec)->source, "built-in");
    EXPECT_FALSE((*spec)->description.empty());
  }
}

TEST(BuiltinSpecs, Auth) {
  const StoreSpec& spec = builtin("auth");
  EXPECT_EQ(ops_of(spec), (std::vector<OpTuple>{
                              ensure_object("challenges"),
                              ensure_object("sessions"),
                              ensure_object("access_index"),
                              ensure_object("refresh_index"),
                              ensure_object("revoked_refresh_tokens"),
                              ensure_object("revoked_refresh_token_ids"),
                              ensure_object("users_by_id"),
                              ensure_object("users_by_email"),
                              ensure_object("users_by_workos_id"),
                              ensure_object("personal_access_tokens"),
                          }));
  EXPECT_EQ(counts_of(spec), (std::vector<CountTuple>{
                                 {"personal_access_tokens", CountKind::object_len, "personal_access_tokens"},
                                 {"sessions", CountKind::object_len, "sessions"},
                                 {"users", CountKind::object_len, "users_by_id"},
                             }));
}

TEST(BuiltinSpecs, CodexThreads) {
  const StoreSpec& spec = builtin("codex_threads");
  EXPECT_EQ(ops_of(spec), (std::vector<OpTuple>{ensure_object("threads"), ensure_object("messages_by_thread")}));
  EXPECT_EQ(counts_of(spec), (std::vector<CountTuple>{
                                 {"messages", CountKind::sum_array_lengths, "messages_by_thread"},
                                 {"threads", CountKind::object_len, "threads"},
                             }));
}

TEST(BuiltinSpecs, Domain) {
  const StoreSpec& spec = builtin("domain");
  EXPECT_EQ(ops_of(spec), (std::vector<OpTuple>{
                              ensure_object("autopilots"),
                              ensure_object("autopilot_profiles"),
                              ensure_object("autopilot_policies"),
                              ensure_object("autopilot_runtime_bindings"),
                              ensure_object("runtime_driver_overrides"),
                              ensure_object("l402_credentials"),
                              ensure_object("l402_paywalls"),
                              ensure_object("user_spark_wallets"),
                              ensure_object("user_integrations"),
                              ensure_object("comms_webhook_events"),
                              ensure_object("comms_delivery_projections"),
                              ensure_array("user_integration_audits"),
                              ensure_array("shouts"),
                              ensure_array("whispers"),
                              counter("next_user_integration_id", "user_integrations"),
                              counter("next_user_integration_audit_id", "user_integration_audits"),
                              counter("next_comms_webhook_event_id", "comms_webhook_events"),
                              counter("next_comms_delivery_projection_id", "comms_delivery_projections"),
                              counter("next_shout_id", "shouts"),
                              counter("next_whisper_id", "whispers"),
                          }));
  EXPECT_EQ(counts_of(spec), (std::vector<CountTuple>{
                                 {"autopilots", CountKind::object_len, "autopilots"},
                                 {"integrations", CountKind::object_len, "user_integrations"},
                                 {"l402_paywalls", CountKind::object_len, "l402_paywalls"},
                                 {"shouts", CountKind::array_len, "shouts"},
                                 {"whispers", CountKind::array_len, "whispers"},
                             }));
}

TEST(BuiltinSpecs, NamesOfKinds) {
  EXPECT_EQ(operation_name(OperationKind::ensure_object), "ensure_object");
  EXPECT_EQ(operation_name(OperationKind::ensure_array), "ensure_array");
  EXPECT_EQ(operation_name(OperationKind::counter_from_max), "counter_from_max");
  EXPECT_EQ(count_kind_name(CountKind::object_len), "object_len");
  EXPECT_EQ(count_kind_name(CountKind::array_len), "array_len");
  EXPECT_EQ(count_kind_name(CountKind::sum_array_lengths), "sum_array_lengths");
}

// ---------------------------------------------------------------------------
// parse_store_spec: a good spec, and refusals that name the problem.

std::string spec_text(const std::string& operations,
                      const std::string& counts = R"({"n": {"kind": "object_len", "key": "a"}})",
                      const std::string& extra = "") {
  return R"({"schema": "cutover.store_spec.v1", "store": "things", )" + extra + R"("operations": [)" + operations +
         R"(], "counts": )" + counts + "}";
}

TEST(ParseStoreSpec, ReadsAGoodSpec) {
  auto spec =
      parse_store_spec(spec_text(R"({"op": "ensure_object", "key": "a"}, {"op": "ensure_array", "key": "rows"},
                {"op": "counter_from_max", "counter": "next_row", "collection": "rows", "id_field": "row_id"})",
                                 R"({"z": {"kind": "array_len", "key": "rows"}, "n": {"kind": "object_len", "key": "a"},
                    "m": {"kind": "sum_array_lengths", "key": "a"}})",
                                 R"("description": "test things", )"),
                       "things.json");
  ASSERT_TRUE(spec) << spec.error().message();
  EXPECT_EQ(spec->store, "things");
  EXPECT_EQ(spec->description, "test things");
  EXPECT_EQ(spec->source, "things.json");
  EXPECT_EQ(ops_of(*spec), (std::vector<OpTuple>{ensure_object("a"),
                                                 ensure_array("rows"),
                                                 {OperationKind::counter_from_max, "next_row", "rows", "row_id"}}));
  // Counts come out sorted by name.
  EXPECT_EQ(counts_of(*spec), (std::vector<CountTuple>{{"m", CountKind::sum_array_lengths, "a"},
                                                       {"n", CountKind::object_len, "a"},
                                                       {"z", CountKind::array_len, "rows"}}));
}

struct SpecRefusal {
  const char* name;
  std::string text;
  std::vector<std::string> message_parts;  // each must appear in the message
};
// Names the case in test names and failure messages.
void PrintTo(const SpecRefusal& c, std::ostream* os) { *os << c.name; }

class ParseStoreSpecRefuses : public ::testing::TestWithParam<SpecRefusal> {};

TEST_P(ParseStoreSpecRefuses, NamingTheProblem) {
  auto spec = parse_store_spec(GetParam().text, "my-spec.json");
  ASSERT_FALSE(spec) << "accepted: " << GetParam().text;
  EXPECT_EQ(spec.error().code(), ErrorCode::invalid_argument);
  const std::string& message = spec.error().message();
  EXPECT_EQ(message.rfind("store spec my-spec.json: ", 0), 0u) << message;
  for (const std::string& part : GetParam().message_parts) {
    EXPECT_NE(message.find(part), std::string::npos) << "missing '" << part << "' in: " << message;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, ParseStoreSpecRefuses,
    ::testing::Values(
        SpecRefusal{"malformed_json",
                    "{\"schema\": \"cutover.store_spec.v1\",\n  \"store\": }",
                    {"invalid JSON at line 2, column 12", "expected value"}},
        SpecRefusal{"not_an_object", "[]", {"the document must be an object"}},
        SpecRefusal{"wrong_schema",
                    R"({"schema": "cutover.store_spec.v2", "store": "x", "operations": [], "counts": {}})",
                    {"schema is 'cutover.store_spec.v2', expected 'cutover.store_spec.v1'"}},
        SpecRefusal{"missing_schema", R"({"store": "x", "operations": [], "counts": {}})", {"missing field 'schema'"}},
        SpecRefusal{"unknown_op",
                    spec_text(R"({"op": "ensure_objet", "key": "a"})"),
                    {"operations[0]: unknown operation 'ensure_objet'", "did you mean 'ensure_object'?",
                     "ensure_object, ensure_array, counter_from_max"}},
        SpecRefusal{"unknown_op_no_hint",
                    spec_text(R"({"op": "drop_key", "key": "a"})"),
                    {"unknown operation 'drop_key'", "nothing may remove or retype data"}},
        SpecRefusal{"unknown_count_kind",
                    spec_text("", R"({"n": {"kind": "objectlen", "key": "a"}})"),
                    {"counts.n: unknown count kind 'objectlen'", "did you mean 'object_len'?",
                     "object_len, array_len, sum_array_lengths"}},
        SpecRefusal{"unknown_field_in_op",
                    spec_text(R"({"op": "ensure_object", "key": "a", "default": {}})"),
                    {"operations[0]: unknown field 'default'"}},
        SpecRefusal{"unknown_field_at_top",
                    spec_text("", R"({})", R"("operation": [], )"),
                    {"spec: unknown field 'operation'", "did you mean 'operations'?"}},
        SpecRefusal{"unknown_field_in_count",
                    spec_text("", R"({"n": {"kind": "object_len", "key": "a", "kye": 1}})"),
                    {"counts.n: unknown field 'kye'", "did you mean 'key'?"}},
        SpecRefusal{"missing_key", spec_text(R"({"op": "ensure_array"})"), {"operations[0]: missing field 'key'"}},
        SpecRefusal{"empty_key",
                    spec_text(R"({"op": "ensure_array", "key": ""})"),
                    {"operations[0].key must be a non-empty string"}},
        SpecRefusal{"op_not_object", spec_text(R"("ensure_object")"), {"operations[0] must be an object"}},
        SpecRefusal{"operations_not_array",
                    R"({"schema": "cutover.store_spec.v1", "store": "x", "operations": {}, "counts": {}})",
                    {"operations must be an array"}},
        SpecRefusal{"counts_not_object", spec_text("", "[]"), {"counts must be an object"}},
        SpecRefusal{"bad_store_name",
                    R"({"schema": "cutover.store_spec.v1", "store": "Bad Name", "operations": [], "counts": {}})",
                    {"store name 'Bad Name' must be 1-64 characters"}},
        SpecRefusal{"retype_object_array",
                    spec_text(R"({"op": "ensure_object", "key": "a"}, {"op": "ensure_array", "key": "a"})"),
                    {"key 'a' is used as object and as array", "would retype data"}},
        SpecRefusal{"retype_counter",
                    spec_text(R"({"op": "ensure_array", "key": "rows"},
                                 {"op": "counter_from_max", "counter": "rows", "collection": "x", "id_field": "id"})"),
                    {"key 'rows' is used as array and as counter"}},
        SpecRefusal{"counter_reads_counter",
                    spec_text(R"({"op": "counter_from_max", "counter": "c1", "collection": "rows", "id_field": "id"},
                                 {"op": "counter_from_max", "counter": "c2", "collection": "c1", "id_field": "id"})"),
                    {"counter_from_max 'c2' reads collection 'c1', which is itself a counter"}},
        SpecRefusal{"counter_missing_id_field",
                    spec_text(R"({"op": "counter_from_max", "counter": "c", "collection": "rows"})"),
                    {"operations[0]: missing field 'id_field'"}}));

TEST(SpecRegistry, RefusesADuplicateKindName) {
  SpecRegistry registry = SpecRegistry::with_builtins();
  auto spec = parse_store_spec(
      R"({"schema": "cutover.store_spec.v1", "store": "auth", "operations": [], "counts": {}})", "mine.json");
  ASSERT_TRUE(spec) << spec.error().message();
  Status added = registry.add(std::move(*spec));
  ASSERT_FALSE(added);
  EXPECT_EQ(added.error().code(), ErrorCode::invalid_argument);
  EXPECT_NE(added.error().message().find("store spec mine.json: store kind 'auth' is already defined by built-in"),
            std::string::npos)
      << added.error().message();
  EXPECT_EQ(registry.names().size(), 3u);
}

TEST(SpecRegistry, LoadsASpecFileOnce) {
  testing::TempDir dir;
  std::string path = dir.file("things.json");
  testing::write_text(path, spec_text(R"({"op": "ensure_object", "key": "a"})"));
  SpecRegistry registry = SpecRegistry::with_builtins();
  ASSERT_TRUE(registry.load_file(base::real_file_system(), path));
  auto found = registry.find("things");
  ASSERT_TRUE(found);
  EXPECT_EQ((*found)->source, path);
  EXPECT_EQ(registry.names(), (std::vector<std::string>{"auth", "codex_threads", "domain", "things"}));

  Status again = registry.load_file(base::real_file_system(), path);
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message().find("store kind 'things' is already defined by " + path), std::string::npos)
      << again.error().message();

  Status missing = registry.load_file(base::real_file_system(), dir.file("nope.json"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::not_found);
  EXPECT_NE(missing.error().message().find("nope.json"), std::string::npos) << missing.error().message();
}

TEST(SpecRegistry, UnknownKindNamesTheKnownOnesAndTheClosest) {
  SpecRegistry registry = SpecRegistry::with_builtins();
  auto typo = registry.find("atuh");
  ASSERT_FALSE(typo);
  EXPECT_EQ(typo.error().code(), ErrorCode::not_found);
  EXPECT_NE(typo.error().message().find("unknown store kind 'atuh'; did you mean 'auth'?"), std::string::npos)
      << typo.error().message();
  EXPECT_NE(typo.error().message().find("known kinds: auth, codex_threads, domain"), std::string::npos)
      << typo.error().message();

  auto far = registry.find("billing");
  ASSERT_FALSE(far);
  EXPECT_EQ(far.error().message().find("did you mean"), std::string::npos) << far.error().message();
}

// ---------------------------------------------------------------------------
// migrate()

StoreSpec spec_from(const std::string& operations) {
  auto spec = parse_store_spec(spec_text(operations), "test");
  if (!spec) {
    ADD_FAILURE() << spec.error().message();
    return StoreSpec{};
  }
  return *spec;
}

json::Document parse_doc(const std::string& text) {
  auto doc = json::parse(text);
  if (!doc) {
    ADD_FAILURE() << doc.error().message();
    return json::Document();
  }
  return std::move(*doc);
}

// Migrates `text` and returns the canonical result, or "ERROR: <message>".
std::string migrated(const std::string& text, const StoreSpec& spec, bool allow_reset = false,
                     std::vector<std::string>* resets = nullptr) {
  json::Document doc = parse_doc(text);
  auto result = migrate(doc, spec, MigrationOptions{allow_reset});
  if (!result) {
    EXPECT_EQ(result.error().code(), ErrorCode::invalid_argument);
    return "ERROR: " + result.error().message();
  }
  EXPECT_EQ(json::to_canonical_string(result->root), json::to_canonical_string(doc.root()));
  if (resets != nullptr) *resets = result->resets;
  return json::to_canonical_string(result->root);
}

TEST(Migrate, EnsureAddsMissingKeysAndKeepsExistingOnes) {
  StoreSpec spec = spec_from(R"({"op": "ensure_object", "key": "obj"}, {"op": "ensure_array", "key": "arr"},
                                {"op": "ensure_object", "key": "kept"})");
  EXPECT_EQ(migrated("{}", spec), "{\n  \"arr\": [],\n  \"kept\": {},\n  \"obj\": {}\n}");
  EXPECT_EQ(migrated(R"({"kept": {"x": [1]}, "other": "left alone"})", spec),
            "{\n  \"arr\": [],\n  \"kept\": {\n    \"x\": [\n      1\n    ]\n  },\n  \"obj\": {},\n"
            "  \"other\": \"left alone\"\n}");
  // Already migrated: unchanged.
  std::string once = migrated(R"({"arr": [1, 2]})", spec);
  EXPECT_EQ(migrated(once, spec), once);
}

TEST(Migrate, RefusesWrongTypedKeysListingEveryProblem) {
  StoreSpec spec = spec_from(R"({"op": "ensure_object", "key": "a"}, {"op": "ensure_array", "key": "b"},
                                {"op": "ensure_object", "key": "fine"}, {"op": "ensure_object", "key": "c"})");
  EXPECT_EQ(migrated(R"({"a": [], "b": {"x": 1}, "fine": {}, "c": "text"})", spec),
            "ERROR: 3 keys have the wrong type (the reference tool would replace them and lose their contents): "
            "key 'a' holds an array, expected an object; key 'b' holds an object, expected an array; "
            "key 'c' holds a string, expected an object");
  EXPECT_EQ(migrated(R"({"a": 5})", spec),
            "ERROR: 1 key has the wrong type (the reference tool would replace them and lose their contents): "
            "key 'a' holds an integer, expected an object");
  EXPECT_NE(migrated(R"({"a": null})", spec).find("key 'a' holds a null, expected an object"), std::string::npos);
}

TEST(Migrate, RefusesANonObjectRoot) {
  StoreSpec spec = spec_from(R"({"op": "ensure_object", "key": "a"})");
  for (const char* root : {"[]", "null", "\"text\"", "3"}) {
    std::string out = migrated(root, spec);
    EXPECT_EQ(out.rfind("ERROR: the document root is ", 0), 0u) << out;
    EXPECT_NE(out.find("not an object"), std::string::npos) << out;
  }
  EXPECT_EQ(migrated("[1]", spec),
            "ERROR: the document root is an array, not an object; the reference tool would replace the whole store "
            "with {}");
}

TEST(Migrate, DestructiveResetReplacesAndReports) {
  StoreSpec spec = spec_from(R"({"op": "ensure_object", "key": "a"}, {"op": "ensure_array", "key": "b"},
                                {"op": "counter_from_max", "counter": "next", "collection": "b", "id_field": "id"})");
  std::vector<std::string> resets;
  EXPECT_EQ(migrated(R"({"a": [1], "b": {"x": {"id": 4}}, "next": "9", "keep": 1})", spec, true, &resets),
            "{\n  \"a\": {},\n  \"b\": [],\n  \"keep\": 1,\n  \"next\": 1\n}");
  EXPECT_EQ(resets, (std::vector<std::string>{
                        "key 'a' holds an array, expected an object; replaced by {}",
                        "key 'b' holds an object, expected an array; replaced by []",
                        "counter 'next' holds a string, expected an unsigned integer; recomputed from b.id",
                    }));

  EXPECT_EQ(migrated("[1, 2]", spec, true, &resets), "{\n  \"a\": {},\n  \"b\": [],\n  \"next\": 1\n}");
  EXPECT_EQ(resets, (std::vector<std::string>{"root (an array) replaced by {}"}));

  // Nothing to reset: nothing reported.
  EXPECT_EQ(migrated(R"({"a": {}, "b": [], "next": 3})", spec, true, &resets),
            "{\n  \"a\": {},\n  \"b\": [],\n  \"next\": 3\n}");
  EXPECT_TRUE(resets.empty());
}

StoreSpec counter_spec() {
  return spec_from(R"({"op": "counter_from_max", "counter": "next_id", "collection": "rows", "id_field": "id"})");
}

// The value of next_id after migrating `text` (a test failure and 0 on error).
uint64_t next_id_after(const std::string& text) {
  json::Document doc = parse_doc(text);
  auto result = migrate(doc, counter_spec(), MigrationOptions{});
  if (!result) {
    ADD_FAILURE() << result.error().message();
    return 0;
  }
  const json::Node* v = result->root.find("next_id");
  if (v == nullptr || v->kind() != json::Kind::u64) {
    ADD_FAILURE() << "next_id missing or not u64";
    return 0;
  }
  return v->as_u64();
}

TEST(Migrate, CounterFromMaxTable) {
  struct Case {
    const char* what;
    std::string store;
    uint64_t next_id;
  };
  const Case cases[] = {
      {"object rows, u64 ids", R"({"rows": {"a": {"id": 3}, "b": {"id": 9}, "c": {"id": 1}}})", 10},
      {"array rows, u64 ids", R"({"rows": [{"id": 2}, {"id": 7}]})", 8},
      {"numeric string ids", R"({"rows": [{"id": "12"}, {"id": 5}]})", 13},
      {"plus sign", R"({"rows": [{"id": "+7"}]})", 8},
      {"leading zeros", R"({"rows": [{"id": "0042"}]})", 43},
      {"non-numeric ids count 0",
       R"({"rows": [{"id": "abc"}, {"id": -5}, {"id": 2.5}, {"id": null}, {"id": true}, {"id": "-3"}, {"id": " 4"},
                    {"id": "4 "}, {"id": "1e3"}, {"id": ""}, {"id": "+"}, {"id": "18446744073709551616"}, {}, 7]})",
       1},
      {"missing collection", R"({})", 1},
      {"empty collection", R"({"rows": []})", 1},
      {"collection of wrong type", R"({"rows": "nope"})", 1},
      {"missing counter", R"({"rows": {"x": {"id": 4}}})", 5},
      {"zero counter recomputed", R"({"rows": {"x": {"id": 4}}, "next_id": 0})", 5},
      {"non-zero counter untouched", R"({"rows": {"x": {"id": 40}}, "next_id": 3})", 3},
      {"counter above max untouched", R"({"rows": [{"id": 2}], "next_id": 100})", 100},
      {"largest id below u64 max", R"({"rows": [{"id": 18446744073709551614}]})", UINT64_MAX},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    EXPECT_EQ(next_id_after(c.store), c.next_id);
  }
}

TEST(Migrate, CounterRefusesWrongTypeAndOverflow) {
  StoreSpec spec = counter_spec();
  for (const char* bad : {R"({"next_id": "5"})", R"({"next_id": -1})", R"({"next_id": 1.5})", R"({"next_id": null})",
                          R"({"next_id": {}})"}) {
    std::string out = migrated(bad, spec);
    EXPECT_EQ(out.rfind("ERROR: 1 key has the wrong type", 0), 0u) << bad << " -> " << out;
    EXPECT_NE(out.find("counter 'next_id' holds "), std::string::npos) << out;
    EXPECT_NE(out.find("expected an unsigned integer"), std::string::npos) << out;
  }
  std::string full = migrated(R"({"rows": [{"id": 18446744073709551615}]})", spec);
  EXPECT_NE(full.find("no next id exists"), std::string::npos) << full;
}

TEST(Migrate, CounterSeesCollectionsAddedEarlierInTheSameRun) {
  StoreSpec spec = spec_from(R"({"op": "ensure_array", "key": "rows"},
                                {"op": "counter_from_max", "counter": "next_id", "collection": "rows", "id_field": "id"})");
  EXPECT_EQ(migrated("{}", spec), "{\n  \"next_id\": 1,\n  \"rows\": []\n}");
}

TEST(RowId, ReadsLikeRustU64FromStr) {
  auto id_of = [](const std::string& json_value) {
    json::Document doc = parse_doc(json_value);
    return row_id(&doc.root());
  };
  EXPECT_EQ(row_id(nullptr), 0u);
  EXPECT_EQ(id_of("5"), 5u);
  EXPECT_EQ(id_of("18446744073709551615"), UINT64_MAX);
  EXPECT_EQ(id_of(R"("18446744073709551615")"), UINT64_MAX);
  EXPECT_EQ(id_of(R"("12")"), 12u);
  EXPECT_EQ(id_of(R"("+7")"), 7u);
  EXPECT_EQ(id_of(R"("007")"), 7u);
  EXPECT_EQ(id_of(R"("0")"), 0u);
  for (const char* zero :
       {R"("")", R"("+")", R"("++7")", R"("-7")", R"("-0")", R"(" 7")", R"("7 ")", R"("7a")", R"("0x10")", R"("1e3")",
        R"("18446744073709551616")", "-7", "7.0", "true", "null", "[7]", R"({"id": 7})"}) {
    EXPECT_EQ(id_of(zero), 0u) << zero;
  }
}

// ---------------------------------------------------------------------------
// Counts.

TEST(Counts, KindsAndMissingOrWrongTypes) {
  json::Document doc = parse_doc(R"({
    "obj": {"a": 1, "b": 2, "c": 3},
    "arr": [1, 2],
    "nested": {"x": [1, 2], "y": [], "z": [3, 4, 5], "not_array": {"k": [1]}, "s": "abc"},
    "str": "hello"
  })");
  const json::Node& root = doc.root();
  struct Case {
    CountKind kind;
    const char* key;
    uint64_t expected;
  };
  const Case cases[] = {
      {CountKind::object_len, "obj", 3},
      {CountKind::object_len, "arr", 0},
      {CountKind::object_len, "missing", 0},
      {CountKind::object_len, "str", 0},
      {CountKind::array_len, "arr", 2},
      {CountKind::array_len, "obj", 0},
      {CountKind::array_len, "missing", 0},
      {CountKind::array_len, "str", 0},
      {CountKind::sum_array_lengths, "nested", 5},
      {CountKind::sum_array_lengths, "obj", 0},
      {CountKind::sum_array_lengths, "arr", 0},
      {CountKind::sum_array_lengths, "missing", 0},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(count(root, CountRule{"n", c.kind, c.key}), c.expected) << count_kind_name(c.kind) << "(" << c.key << ")";
  }
  // A non-object root counts 0 everywhere.
  json::Document array_root = parse_doc("[1, 2, 3]");
  EXPECT_EQ(count(array_root.root(), CountRule{"n", CountKind::array_len, "x"}), 0u);
}

TEST(Counts, CountAllUsesEveryRuleByName) {
  json::Document doc =
      parse_doc(R"({"threads": {"t1": {}, "t2": {}}, "messages_by_thread": {"t1": [1, 2], "t2": [3]}})");
  EXPECT_EQ(count_all(doc.root(), builtin("codex_threads")), (Counts{{"messages", 3}, {"threads", 2}}));
  json::Document empty = parse_doc("{}");
  EXPECT_EQ(count_all(empty.root(), builtin("auth")),
            (Counts{{"personal_access_tokens", 0}, {"sessions", 0}, {"users", 0}}));
}

// ---------------------------------------------------------------------------
// The reference fixtures give SPEC §8's counts.

TEST(Fixtures, MigrateToTheReferenceCounts) {
  const std::map<std::string, Counts> expected = {
      {"auth", {{"users", 1}, {"sessions", 1}, {"personal_access_tokens", 1}}},
      {"codex_threads", {{"threads", 1}, {"messages", 1}}},
      {"domain", {{"autopilots", 0}, {"l402_paywalls", 0}, {"integrations", 1}, {"shouts", 1}, {"whispers", 1}}},
  };
  auto fixtures = builtin_fixtures();
  ASSERT_EQ(fixtures.size(), 3u);
  for (const auto& [kind, bytes] : fixtures) {
    SCOPED_TRACE(kind);
    json::Document doc = parse_doc(std::string(bytes));
    auto result = migrate(doc, builtin(kind), MigrationOptions{});
    ASSERT_TRUE(result) << result.error().message();
    EXPECT_TRUE(result->resets.empty());
    EXPECT_EQ(count_all(result->root, builtin(kind)), expected.at(kind));
  }
}

TEST(Fixtures, DomainCountersFollowTheFixtureIds) {
  for (const auto& [kind, bytes] : builtin_fixtures()) {
    if (kind != "domain") continue;
    json::Document doc = parse_doc(std::string(bytes));
    auto result = migrate(doc, builtin("domain"), MigrationOptions{});
    ASSERT_TRUE(result) << result.error().message();
    const std::pair<const char*, uint64_t> counters[] = {
        {"next_user_integration_id", 2},
        {"next_user_integration_audit_id", 3},
        {"next_comms_webhook_event_id", 4},
        {"next_comms_delivery_projection_id", 5},
        {"next_shout_id", 6},
        {"next_whisper_id", 7},
    };
    for (const auto& [name, value] : counters) {
      const json::Node* v = result->root.find(name);
      ASSERT_NE(v, nullptr) << name;
      ASSERT_EQ(v->kind(), json::Kind::u64) << name;
      EXPECT_EQ(v->as_u64(), value) << name;
    }
    for (const char* key : {"autopilots", "l402_credentials", "user_spark_wallets", "comms_webhook_events"}) {
      ASSERT_NE(result->root.find(key), nullptr) << key;
      EXPECT_TRUE(result->root.find(key)->is_object()) << key;
    }
  }
}

}  // namespace
}  // namespace cutover::store
