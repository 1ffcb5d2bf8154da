#include "cutover/state/schema.h"

#include <string>

namespace cutover::state {
namespace {

// One step a version: the SQL that takes the schema from the version
// before to this one. Steps are never edited once released; a change is a
// new step.
struct Migration {
  int version;
  const char* description;
  const char* sql;
};

constexpr Migration k_migrations[] = {
    {1, "overrides, revision, audit log, ledger, roles", R"sql(
CREATE TABLE cutover.override_revision (
  only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  revision bigint NOT NULL CHECK (revision >= 0),
  updated_at text NOT NULL,
  updated_by text NOT NULL,
  state text NOT NULL DEFAULT ''
);
INSERT INTO cutover.override_revision (revision, updated_at, updated_by) VALUES (0, '', '');

CREATE TABLE cutover.overrides (
  scope text PRIMARY KEY CHECK (scope = 'global' OR scope ~ '^domain:[a-z0-9_]+$'),
  target text NOT NULL CHECK (target IN ('legacy', 'rust_shell')),
  revision bigint NOT NULL CHECK (revision > 0),
  updated_at text NOT NULL,
  updated_by text NOT NULL
);

CREATE TABLE cutover.audit_log (
  revision bigint PRIMARY KEY CHECK (revision > 0),
  recorded_at text NOT NULL,
  actor text NOT NULL,
  scope text NOT NULL,
  target text NOT NULL,
  previous text,
  current text,
  event text NOT NULL
);

CREATE TABLE cutover.ledger (
  ledger text NOT NULL,
  seq bigint NOT NULL CHECK (seq > 0),
  line text NOT NULL,
  line_sha256 text NOT NULL,
  PRIMARY KEY (ledger, seq)
);

CREATE FUNCTION cutover.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
  RAISE EXCEPTION 'cutover.% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = '42501';
END
$f$;
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON cutover.audit_log
  FOR EACH ROW EXECUTE FUNCTION cutover.refuse_change();
CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON cutover.audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION cutover.refuse_change();
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON cutover.ledger
  FOR EACH ROW EXECUTE FUNCTION cutover.refuse_change();
CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON cutover.ledger
  FOR EACH STATEMENT EXECUTE FUNCTION cutover.refuse_change();

DO $d$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'cutover_writer') THEN
    CREATE ROLE cutover_writer NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'cutover_reader') THEN
    CREATE ROLE cutover_reader NOLOGIN;
  END IF;
END
$d$;
REVOKE ALL ON ALL TABLES IN SCHEMA cutover FROM PUBLIC;
REVOKE ALL ON SCHEMA cutover FROM PUBLIC;
GRANT USAGE ON SCHEMA cutover TO cutover_writer, cutover_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA cutover TO cutover_reader;
GRANT SELECT ON cutover.schema_version TO cutover_writer;
GRANT SELECT, UPDATE ON cutover.override_revision TO cutover_writer;
GRANT SELECT, INSERT, UPDATE, DELETE ON cutover.overrides TO cutover_writer;
GRANT SELECT, INSERT ON cutover.audit_log, cutover.ledger TO cutover_writer;
)sql"},
};

static_assert(sizeof(k_migrations) / sizeof(k_migrations[0]) == k_schema_version,
              "one migration a version, the last one k_schema_version");

}  // namespace

Result<int> schema_version(Connection& conn) {
  TRY_ASSIGN(QueryResult exists,
             conn.exec("looking for the cutover schema", "SELECT to_regclass('cutover.schema_version') IS NOT NULL"));
  if (exists.text(0, 0) != "t") return 0;
  TRY_ASSIGN(QueryResult v, conn.exec("reading the schema version", "SELECT version FROM cutover.schema_version"));
  if (v.rows() != 1) {
    return make_error(ErrorCode::corruption, "postgresql " + conn.name() + ": cutover.schema_version holds " +
                                                 std::to_string(v.rows()) + " rows, not one");
  }
  TRY_ASSIGN(int64_t version, v.int64(0, 0));
  return static_cast<int>(version);
}

Result<SchemaInit> init_schema(Connection& conn) {
  TRY_ASSIGN(Transaction tx, conn.begin("starting the schema transaction"));
  TRY(conn.exec("waiting for the schema lock", "SELECT pg_advisory_xact_lock($1, $2)",
                {std::to_string(k_lock_class), std::to_string(k_schema_lock_key)}));
  SchemaInit init;
  TRY_ASSIGN(init.before, schema_version(conn));
  init.after = init.before;
  if (init.before > k_schema_version) {
    return make_error(ErrorCode::conflict, "postgresql " + conn.name() + ": the cutover schema is version " +
                                               std::to_string(init.before) + ", newer than this cutover knows (" +
                                               std::to_string(k_schema_version) +
                                               "): use a cutover release that knows it; nothing was changed");
  }
  if (init.before == k_schema_version) return init;  // the transaction rolls back: nothing to do
  if (init.before == 0) {
    TRY(conn.exec_script("creating schema cutover", R"sql(
CREATE SCHEMA IF NOT EXISTS cutover;
CREATE TABLE cutover.schema_version (
  only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  version integer NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  updated_by text NOT NULL DEFAULT current_user
);
INSERT INTO cutover.schema_version (version) VALUES (0);
)sql"));
  }
  for (const Migration& m : k_migrations) {
    if (m.version <= init.before) continue;
    TRY(conn.exec_script("upgrading the schema to version " + std::to_string(m.version) + " (" + m.description + ")",
                         m.sql));
    TRY(conn.exec("recording schema version " + std::to_string(m.version),
                  "UPDATE cutover.schema_version SET version = $1, updated_at = now(), updated_by = current_user",
                  {std::to_string(m.version)}));
    init.after = m.version;
  }
  TRY(tx.commit("committing the schema"));
  return init;
}

Status check_schema(Connection& conn) {
  TRY_ASSIGN(int version, schema_version(conn));
  if (version == k_schema_version) return {};
  if (version > k_schema_version) {
    return make_error(ErrorCode::conflict, "postgresql " + conn.name() + ": the cutover schema is version " +
                                               std::to_string(version) + ", newer than this cutover knows (" +
                                               std::to_string(k_schema_version) + "): upgrade cutover");
  }
  return make_error(ErrorCode::not_found,
                    "postgresql " + conn.name() + ": the cutover schema is " +
                        (version == 0 ? std::string("missing") : "version " + std::to_string(version)) +
                        ", this cutover needs version " + std::to_string(k_schema_version) +
                        ": run `cutover state init URL` as the schema's owner");
}

}  // namespace cutover::state
