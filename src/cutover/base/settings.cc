#include "cutover/base/settings.h"

#include <cassert>
#include <vector>

#include "cutover/base/text.h"

namespace cutover::base {
namespace {

std::string_view trim_blanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// "did you mean" for an unknown key: the nearest name, comparing the key
// upper-cased and with the CUTOVER_ prefix added when it lacks one.
std::string suggestion(std::string_view key) {
  std::string upper(key);
  for (char& c : upper) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c == '-') c = '_';
  }
  if (!upper.starts_with("CUTOVER_")) upper = "CUTOVER_" + upper;
  std::vector<std::string_view> names;
  for (const SettingDef& d : k_settings) names.push_back(d.name);
  std::string_view best = closest_match(upper, names, 4);
  return best.empty() ? std::string() : std::string(best);
}

std::string known_names() {
  std::string out;
  for (const SettingDef& d : k_settings) out += (out.empty() ? "" : ", ") + std::string(d.name);
  return out;
}

}  // namespace

const SettingDef& setting_def(std::string_view name) {
  for (const SettingDef& d : k_settings) {
    if (d.name == name) return d;
  }
  assert(false && "not a setting");
  return k_settings[0];
}

Result<SettingsFile> parse_settings_file(std::string_view text, const std::string& path) {
  SettingsFile file;
  file.path = path;
  std::vector<std::string> problems;
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    std::string_view line = trim_blanks(take_line(text));
    if (line.empty() || line.front() == '#') continue;
    std::string where = path + ":" + std::to_string(line_no) + ": ";
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      problems.push_back(where + "expected KEY=VALUE (e.g. CUTOVER_SERVER=http://127.0.0.1:8787), not '" +
                         std::string(line.substr(0, 80)) + "'");
      continue;
    }
    std::string key(trim_blanks(line.substr(0, eq)));
    std::string_view value = trim_blanks(line.substr(eq + 1));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    bool known = false;
    for (const SettingDef& d : k_settings) known = known || d.name == key;
    if (!known) {
      std::string near = suggestion(key);
      problems.push_back(where + "unknown key '" + key + "'" +
                         (near.empty() ? " (the keys are " + known_names() + ")" : "; did you mean " + near + "?"));
      continue;
    }
    auto [it, fresh] = file.entries.try_emplace(key, SettingsFile::Entry{std::string(value), line_no});
    if (!fresh) {
      problems.push_back(where + key + " is set again (first on line " + std::to_string(it->second.line) +
                         "); keep one");
    }
  }
  if (!problems.empty()) {
    std::string message = "settings file " + path + " is not usable: ";
    for (size_t i = 0; i < problems.size(); ++i) message += (i ? "; " : "") + problems[i];
    return make_error(ErrorCode::invalid_argument, message);
  }
  return file;
}

std::string_view setting_source_name(SettingSource source) {
  switch (source) {
    case SettingSource::flag:
      return "flag";
    case SettingSource::environment:
      return "env";
    case SettingSource::file:
      return "file";
    case SettingSource::default_value:
      return "default";
    case SettingSource::none:
      return "unset";
  }
  return "unset";
}

Setting resolve_setting(std::string_view name, std::string_view flag_name, std::string_view flag,
                        std::string_view env_name, const char* env_value, const SettingsFile& file,
                        std::string_view default_value) {
  Setting s;
  s.name = std::string(name);
  if (!flag.empty()) {
    s.value = std::string(flag);
    s.source = SettingSource::flag;
    s.origin = std::string(flag_name);
  } else if (env_value != nullptr && *env_value != '\0') {
    s.value = env_value;
    s.source = SettingSource::environment;
    s.origin = std::string(env_name);
  } else if (auto it = file.entries.find(name); it != file.entries.end() && !it->second.value.empty()) {
    s.value = it->second.value;
    s.source = SettingSource::file;
    s.origin = file.path + ":" + std::to_string(it->second.line);
  } else if (!default_value.empty()) {
    s.value = std::string(default_value);
    s.source = SettingSource::default_value;
  }
  return s;
}

}  // namespace cutover::base
