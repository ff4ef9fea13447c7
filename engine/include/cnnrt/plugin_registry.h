// The engine side of the plugin ABI (cnnrt/plugin.h): a table of custom-op kernels by name
// ("domain::OpType"), filled by plugin libraries (load_plugin_library) and by the Python
// bindings (numpy kernels behind a C trampoline), and the `plugin` step that calls them.
#pragma once
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "cnnrt/plugin.h"
#include "cnnrt/plugin_library.h"

namespace cnnrt {

struct PluginKernel {
  cnnrt_kernel_fn run = nullptr;
  void* user_data = nullptr;
  std::shared_ptr<void> owner;  // keeps user_data (and its library) alive while a step holds it
  std::string origin;           // the library path, or "python"
};

// Adds (or, with replace, replaces) kernel `name`; throws std::invalid_argument if taken.
void register_plugin_kernel(const std::string& name, PluginKernel k, bool replace);
bool unregister_plugin_kernel(const std::string& name);
// The kernel called name; throws std::invalid_argument naming the known ones if absent.
PluginKernel find_plugin_kernel(const std::string& name);
std::vector<std::string> plugin_kernel_names();


// What a step throws when its kernel fails at run time (a plugin kernel's error status); the
// executor rethrows it naming the step. The bindings raise it as RuntimeError, not ValueError.
struct StepRunError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace cnnrt
