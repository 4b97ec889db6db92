// Broken on purpose: calls a function no library defines. Loaded with RTLD_NOW this fails in
// dlopen, with the symbol's name in the message; a lazy load would only fail mid-call.
#include <sbx/plugin.hpp>

extern "C" void sbx_test_symbol_nobody_defines();

namespace {
std::shared_ptr<sbx::SandboxBackend> make_backend(const sbx::PluginContext&) {
  sbx_test_symbol_nobody_defines();
  return nullptr;
}
}  // namespace

SBX_PLUGIN(make_backend)
