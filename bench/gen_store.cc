// gen_store OUT MB [SEED]: writes a realistic domain store of about MB
// megabytes, as a production service would have left it: compact JSON, keys
// in insertion order (not sorted), counters missing, strings with escapes and
// non-ASCII text, integers, floats and nested metadata. Deterministic per seed.
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

namespace {

const char* k_providers[] = {"github", "slack", "google", "linear", "notion", "resend", "stripe"};
const char* k_statuses[] = {"active", "revoked", "pending", "errored"};
const char* k_words[] = {"deploy", "cutover", "rollback", "canary",    "backfill", "schema", "route",
                         "tenant", "invoice", "paywall",  "lightning", "wallet",   "thread", "message",
                         "señal",  "données", "日本語",   "ok",        "ship it",  "🚀"};

class Gen {
 public:
  Gen(FILE* out, uint64_t seed) : out_(out), rng_(seed) {}

  size_t written() const { return written_; }

  void raw(const std::string& s) {
    std::fwrite(s.data(), 1, s.size(), out_);
    written_ += s.size();
  }
  uint64_t pick(uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng_); }
  std::string text(int words) {
    std::string s;
    for (int i = 0; i < words; ++i) {
      if (i) s += pick(9) == 0 ? "\\n" : " ";
      s += k_words[pick(sizeof k_words / sizeof *k_words)];
      if (pick(25) == 0) s += " \\\"quoted\\\"";
      if (pick(40) == 0) s += " caf\\u00e9";
    }
    return "\"" + s + "\"";
  }
  std::string timestamp() {
    char buf[40];
    std::snprintf(buf, sizeof buf, "\"2026-%02d-%02dT%02d:%02d:%02d.%06dZ\"", int(1 + pick(12)), int(1 + pick(28)),
                  int(pick(24)), int(pick(60)), int(pick(60)), int(pick(1000000)));
    return buf;
  }
  std::string real() {
    char buf[40];
    switch (pick(4)) {
      case 0:
        std::snprintf(buf, sizeof buf, "%.2f", double(pick(100000)) / 100.0);
        break;
      case 1:
        std::snprintf(buf, sizeof buf, "%.17g", std::uniform_real_distribution<double>(0, 1)(rng_));
        break;
      case 2:
        std::snprintf(buf, sizeof buf, "%de-%d", int(1 + pick(9)), int(1 + pick(12)));
        break;
      default:
        std::snprintf(buf, sizeof buf, "%.1f", double(pick(1000)));
        break;
    }
    return buf;
  }
  std::string user() { return "\"user-" + std::to_string(1 + pick(50000)) + "\""; }

  std::string integration(uint64_t id) {
    return "{\"user_id\":" + user() + ",\"id\":" + std::to_string(id) + ",\"provider\":\"" + k_providers[pick(7)] +
           "\",\"status\":\"" + k_statuses[pick(4)] + "\",\"scopes\":[\"read\",\"write\"" +
           (pick(2) ? ",\"admin\"" : "") + "],\"metadata\":{\"team\":" + text(2) + ",\"installed_by\":" + user() +
           ",\"rate_limit\":" + std::to_string(pick(5000)) + ",\"score\":" + real() +
           ",\"enabled\":" + (pick(2) ? "true" : "false") + ",\"webhook\":null},\"created_at\":" + timestamp() +
           ",\"updated_at\":" + timestamp() + "}";
  }
  std::string audit(uint64_t id) {
    return "{\"id\":" + std::to_string(id) + ",\"integration_id\":" + std::to_string(1 + pick(100000)) +
           ",\"action\":\"" + k_statuses[pick(4)] + "\",\"actor\":" + user() + ",\"at\":" + timestamp() +
           ",\"note\":" + text(4) + "}";
  }
  std::string event(uint64_t id) {
    return "{\"id\":\"" + std::to_string(id) +
           "\",\"provider\":\"resend\",\"status\":\"received\",\"payload\":{\"type\":\"email." + k_statuses[pick(4)] +
           "\",\"subject\":" + text(6) + ",\"latency_ms\":" + real() + ",\"attempt\":" + std::to_string(pick(5)) +
           "},\"received_at\":" + timestamp() + "}";
  }
  std::string post(uint64_t id) {
    return "{\"id\":" + std::to_string(id) + ",\"user_id\":" + user() + ",\"body\":" + text(int(3 + pick(20))) +
           ",\"zone\":\"l402\",\"created_at\":" + timestamp() + ",\"likes\":" + std::to_string(pick(1000)) + "}";
  }

 private:
  FILE* out_;
  std::mt19937_64 rng_;
  size_t written_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: gen_store OUT MB [SEED]\n");
    return 2;
  }
  FILE* out = std::fopen(argv[1], "wb");
  if (out == nullptr) {
    std::perror(argv[1]);
    return 1;
  }
  size_t target = static_cast<size_t>(std::atof(argv[2]) * 1e6);
  Gen g(out, argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 42);
  // Six collections share the budget; each is written until its share is used.
  size_t share = target / 6;
  g.raw("{\"autopilots\":{\"ap-1\":{\"id\":\"ap-1\",\"name\":\"fixture\"}},\"user_integrations\":{");
  uint64_t id = 1;
  for (size_t start = g.written(); g.written() - start < share; ++id) {
    if (id > 1) g.raw(",");
    g.raw("\"" + std::to_string(id) + "\":" + g.integration(id));
  }
  g.raw("},\"user_integration_audits\":[");
  for (size_t start = g.written(), i = 0; g.written() - start < share; ++i) {
    if (i) g.raw(",");
    g.raw(g.audit(++id));
  }
  g.raw("],\"comms_webhook_events\":{");
  for (size_t start = g.written(), i = 0; g.written() - start < share; ++i) {
    if (i) g.raw(",");
    ++id;
    g.raw("\"evt_" + std::to_string(id) + "\":" + g.event(id));
  }
  g.raw("},\"comms_delivery_projections\":{");
  for (size_t start = g.written(), i = 0; g.written() - start < share; ++i) {
    if (i) g.raw(",");
    ++id;
    g.raw("\"" + std::to_string(id) + "\":" + g.event(id));
  }
  g.raw("},\"shouts\":[");
  for (size_t start = g.written(), i = 0; g.written() - start < share; ++i) {
    if (i) g.raw(",");
    g.raw(g.post(++id));
  }
  g.raw("],\"whispers\":[");
  for (size_t start = g.written(), i = 0; g.written() < target && g.written() - start < share * 2; ++i) {
    if (i) g.raw(",");
    g.raw(g.post(++id));
  }
  g.raw("],\"l402_paywalls\":{}}");
  if (std::fclose(out) != 0) {
    std::perror(argv[1]);
    return 1;
  }
  return 0;
}
