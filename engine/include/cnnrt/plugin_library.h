// Loading plugin libraries and asking which kernels are registered: the part of the plugin
// registry the model-file reader and the C API need, without the kernel ABI (cnnrt/plugin.h).
#pragma once
#include <stdexcept>
#include <string>
#include <vector>

namespace cnnrt {

bool has_plugin_kernel(const std::string& name);

// Why a plugin library could not be loaded (what() names the file and says what is wrong).
struct PluginLoadError : std::invalid_argument {
  enum Kind { NoFile, NotLoadable, NoSymbol, RegisterFailed };
  PluginLoadError(Kind kind, const std::string& msg) : std::invalid_argument(msg), kind(kind) {}
  Kind kind;
};

// dlopens `path`, calls its cnnrt_plugin_register and returns the names it registered. On any
// failure (no file, not a library, no symbol, the function fails or registers a taken name)
// nothing stays registered and PluginLoadError says what went wrong, naming the file. Loading
// the same file (by real path) again while its kernels are registered returns their names and
// changes nothing. Loads are serialized by one lock, so concurrent calls are safe; the same code
// is behind cnnrt.load_plugin (Python) and cnnrt_load_plugin (C).
std::vector<std::string> load_plugin_library(const std::string& path);

}  // namespace cnnrt
