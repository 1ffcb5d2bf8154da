// The gates' checks behind advance() (gates.h), one function a phase,
// shared by the files that hold them; internal to the gates module. Each
// adds what is missing to d.missing and what it checked to d.evidence.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "cutover/base/clock.h"
#include "cutover/base/error.h"
#include "cutover/base/file_system.h"
#include "cutover/evidence/bundle.h"
#include "cutover/gates/gates.h"
#include "cutover/gates/ledger.h"
#include "cutover/json/writer.h"
#include "cutover/store/store_spec.h"

namespace cutover::gates {

// Adds the members `members` writes to the evidence the gate records (a
// member of a key written before replaces it).
void add_evidence(GateDecision& d, const std::function<void(json::Writer&)>& members);

// True when RFC 3339 time `a` is strictly after `b` (both parse).
bool later(const std::string& a, const std::string& b);

// expand (expand_gate.cc): both reports, passing and fresh, for the route
// config the gate uses.
void gate_expand(base::FileSystem& fs, const Ledger& ledger, const std::string& group, const GateInputs& inputs,
                 GateDecision& d);

// migrate (evidence_gates.cc): a complete manifest whose stores are still
// what it says. A manifest that cannot be read (an I/O error) is an error,
// not missing evidence.
Status gate_migrate(base::FileSystem& fs, const GateInputs& inputs, GateDecision& d);

// verify: a passing verify report (given, the bundle's, or run now) for the
// manifest the migrate step recorded.
void gate_verify(base::FileSystem& fs, const GroupState& state, const GateInputs& inputs,
                 const store::SpecRegistry& specs, base::Clock& clock, GateDecision& d);

// canary, cutover and contract: the signed bundle, verified, for the
// recorded manifest, backups still retained; its contents when it verified.
std::optional<evidence::BundleContents> check_signed_bundle(base::FileSystem& fs, const Ledger& ledger,
                                                            const GroupState& state, const GateInputs& inputs,
                                                            GateDecision& d);

// contract, on a bundle that verified: a healthy canary window observed
// after the canary step, and a passing drill of the group from its release
// train.
void gate_contract(const GroupState& state, const evidence::BundleContents& contents, const GateInputs& inputs,
                   GateDecision& d);

}  // namespace cutover::gates
