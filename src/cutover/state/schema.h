// The shared state's schema in PostgreSQL (docs/formats/state-schema.md):
// schema `cutover` with
//   schema_version     one row: the version of the tables below
//   override_revision  one row: the current revision (+1 on every override)
//                      and the whole override state as the state folder's
//                      document (routing::state_to_json; "" before the
//                      first override): the truth every replica reads, so
//                      a field the state document gains flows through
//   overrides          the current targets, one row a scope, with the
//                      revision that set it (a projection of the document
//                      for SQL readers, written in the same transaction)
//   audit_log          one row an acknowledged override (append-only)
//   ledger             the gate ledger's lines, hash-chained (append-only)
// and the group roles cutover_writer (what `cutover serve` and the gate
// commands need) and cutover_reader (SELECT only). The append-only tables
// refuse UPDATE, DELETE and TRUNCATE twice: those privileges are never
// granted to cutover_writer, and a trigger refuses them for every role,
// the owner's included (docs/EDGE.md "Shared state" says how operators grant the roles).
//
// init_schema creates or upgrades it in ONE transaction, under an advisory
// lock so two inits at once do not race: the version is read; the same
// version as this binary's changes nothing; an older one gets each missing
// step in order; a newer one is refused (an older cutover must not write to
// tables it does not know).
#pragma once

#include "cutover/base/error.h"
#include "cutover/state/pg.h"

namespace cutover::state {

// The version this binary writes and reads.
inline constexpr int k_schema_version = 1;
// Advisory lock keys (pg_advisory_xact_lock(k_lock_class, key)).
inline constexpr int k_lock_class = 0x43555456;  // "CUTV"
inline constexpr int k_schema_lock_key = 1;

struct SchemaInit {
  int before = 0;  // the version found (0: none)
  int after = 0;   // the version now
};

// Creates or upgrades the schema (see above). Errors: conflict when the
// database holds a newer version; permission_denied when the role may not
// create the schema or roles; io_error. On error nothing was changed.
Result<SchemaInit> init_schema(Connection& conn);

// The version in the database (0 when there is none). Errors: io_error.
Result<int> schema_version(Connection& conn);

// OK when the database holds exactly k_schema_version. Errors: not_found
// (none or older: run `cutover state init`) or conflict (newer: upgrade
// cutover), each saying so.
Status check_schema(Connection& conn);

}  // namespace cutover::state
