// Broken on purpose: calls a function no library defines. Loaded with RTLD_NOW this fails in
// dlopen, with the symbol's name in the message; a lazy load would only fail mid-call.
#include <hutch/plugin.hpp>

extern "C" void hutch_test_symbol_nobody_defines();

namespace {
std::shared_ptr<hutch::SandboxBackend> make_backend(const hutch::PluginContext&) {
  hutch_test_symbol_nobody_defines();
  return nullptr;
}
}  // namespace

HUTCH_PLUGIN(make_backend)
