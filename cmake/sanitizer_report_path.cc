// Linked into cutover and unit_tests only when CUTOVER_SANITIZE is on (see the
// top CMakeLists.txt). GCC links UBSan as its own runtime (libubsan.so) beside
// ASan's (libasan.so). Each keeps its own report file, but libubsan's call to
// __sanitizer_set_report_path binds to libasan's copy, so UBSAN_OPTIONS'
// log_path never reaches UBSan: its reports always go to stderr. A test that
// only checks "non-zero exit and something on stderr" (a refused input) could
// then pass over a UBSan report. This gives libubsan the log_path that
// UBSAN_OPTIONS names, as its own initialisation meant to.
#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <string>

namespace {

__attribute__((constructor)) void set_ubsan_report_path() {
  const char* options = std::getenv("UBSAN_OPTIONS");
  if (options == nullptr) return;
  std::string path;
  for (const char* p = options; (p = std::strstr(p, "log_path=")) != nullptr; p += 9) {
    if (p != options && p[-1] != ':' && p[-1] != ' ' && p[-1] != ',') continue;  // another flag's suffix
    path.assign(p + 9, std::strcspn(p + 9, ": ,"));  // the last log_path wins, as in the runtime
  }
  if (path.empty()) return;
  void* ubsan = ::dlopen("libubsan.so.1", RTLD_NOW | RTLD_NOLOAD);
  if (ubsan == nullptr) return;  // UBSan linked statically: it reads log_path itself
  using SetPath = void (*)(const char*);
  if (auto set = reinterpret_cast<SetPath>(::dlsym(ubsan, "__sanitizer_set_report_path"))) set(path.c_str());
  ::dlclose(ubsan);
}

}  // namespace
