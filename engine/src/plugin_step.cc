// Plugin kernels: the registry, loading a plugin library, and the `plugin` step, which calls a
// registered kernel through the C ABI of cnnrt/plugin.h (attribute `plugin_kernel` names it;
// every other attribute is handed to the kernel as a cnnrt_attr).
#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>

#include "cnnrt/plugin_registry.h"
#include "cnnrt/step.h"

namespace cnnrt {

namespace {

std::mutex& table_mu() {
  static std::mutex mu;
  return mu;
}

std::map<std::string, PluginKernel>& table() {
  static std::map<std::string, PluginKernel> t;
  return t;
}

bool valid_name(const char* op) {
  return op && std::strstr(op, "::") && std::strlen(op) < 512;
}

// What cnnrt_plugin_register sees as its registrar, with the loading state behind it.
struct Loading {
  cnnrt_registrar r;
  std::string path, error;
  std::shared_ptr<void> library;
  std::vector<std::string> added;
};

int add_kernel(const cnnrt_registrar* r, const char* op, cnnrt_kernel_fn run, void* user_data) {
  auto* l = static_cast<Loading*>(r->context);
  if (!valid_name(op) || !run) {
    l->error = std::string("add_kernel: op name must be \"domain::OpType\" and run non-NULL, got \"") +
               (op ? op : "(null)") + "\"";
    return CNNRT_KERNEL_ERROR;
  }
  try {
    register_plugin_kernel(op, PluginKernel{run, user_data, l->library, l->path}, false);
  } catch (const std::exception& e) {
    l->error = e.what();
    return CNNRT_KERNEL_ERROR;
  }
  l->added.push_back(op);
  return CNNRT_KERNEL_OK;
}

void set_error(const cnnrt_registrar* r, const char* message) {
  static_cast<Loading*>(r->context)->error = message ? message : "";
}

}  // namespace

void register_plugin_kernel(const std::string& name, PluginKernel k, bool replace) {
  std::lock_guard<std::mutex> lock(table_mu());
  auto it = table().find(name);
  if (it != table().end() && !replace)
    throw std::invalid_argument("a kernel for " + name + " is already registered (by " + it->second.origin + ")");
  table()[name] = std::move(k);
}

bool unregister_plugin_kernel(const std::string& name) {
  std::lock_guard<std::mutex> lock(table_mu());
  return table().erase(name) > 0;
}

PluginKernel find_plugin_kernel(const std::string& name) {
  std::lock_guard<std::mutex> lock(table_mu());
  auto it = table().find(name);
  if (it != table().end()) return it->second;
  std::string known;
  for (const auto& kv : table()) known += (known.empty() ? "" : ", ") + kv.first;
  throw std::invalid_argument("no plugin kernel " + name + " is registered (registered: " +
                              (known.empty() ? "none" : known) + ")");
}

bool has_plugin_kernel(const std::string& name) {
  std::lock_guard<std::mutex> lock(table_mu());
  return table().count(name) > 0;
}

std::vector<std::string> plugin_kernel_names() {
  std::lock_guard<std::mutex> lock(table_mu());
  std::vector<std::string> names;
  for (const auto& kv : table()) names.push_back(kv.first);
  return names;
}

std::vector<std::string> load_plugin_library(const std::string& path) {
  using E = PluginLoadError;
  // One load at a time: two threads loading one library must not both register (the second
  // would fail on taken names), and the `loaded` map below needs a lock anyway.
  static std::mutex load_mu;
  // real path -> (its kernels, the path it was loaded by: their origin)
  static std::map<std::string, std::pair<std::vector<std::string>, std::string>> loaded;
  std::lock_guard<std::mutex> guard(load_mu);
  // An absolute, resolved path: dlopen would search the library path for a bare name, where
  // Python's load_plugin means a file relative to the working directory.
  char resolved[PATH_MAX];
  if (!::realpath(path.c_str(), resolved))
    throw E(E::NoFile, path + ": no such plugin library (" + std::strerror(errno) + ")");
  const std::string real = resolved;
  auto done = loaded.find(real);
  if (done != loaded.end()) {
    const auto& [names, origin] = done->second;
    bool all = true;  // still registered (unregister_plugin_kernel may have dropped some)
    for (const auto& name : names) all = all && has_plugin_kernel(name);
    if (all) return names;
    // Some were dropped: register the library afresh, so first drop what is left of it.
    std::lock_guard<std::mutex> lock(table_mu());
    for (const auto& name : names) {
      auto it = table().find(name);
      if (it != table().end() && it->second.origin == origin) table().erase(it);
    }
  }
  void* handle = dlopen(real.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = dlerror();
    throw E(E::NotLoadable, path + ": cannot load the plugin library (" + (why ? why : "dlopen failed") + ")");
  }
  // Closed when the last kernel from it (and every step holding one) is gone.
  std::shared_ptr<void> library(handle, [](void* h) { dlclose(h); });
  auto reg = reinterpret_cast<cnnrt_plugin_register_fn>(dlsym(handle, "cnnrt_plugin_register"));
  if (!reg)
    throw E(E::NoSymbol, path + ": not a cnnrt plugin: it exports no cnnrt_plugin_register "
                                "function (declare it extern \"C\"; see cnnrt/plugin.h)");
  Loading l{{CNNRT_PLUGIN_ABI_VERSION, nullptr, &add_kernel, &set_error}, path, "", library, {}};
  l.r.context = &l;
  int status = CNNRT_KERNEL_ERROR;
  try {  // a C++ exception must not cross the C ABI, but if one does, clean up all the same
    status = reg(&l.r);
  } catch (const std::exception& e) {
    l.error = std::string("it threw ") + e.what();
  } catch (...) {
    l.error = "it threw a non-standard exception";
  }
  if (status != CNNRT_KERNEL_OK || !l.error.empty()) {
    for (const auto& name : l.added) unregister_plugin_kernel(name);
    throw E(E::RegisterFailed, path + ": cnnrt_plugin_register failed (status " + std::to_string(status) +
                                   "): " + (l.error.empty() ? "no message" : l.error));
  }
  loaded[real] = {l.added, path};
  return l.added;
}

namespace {

// The node's attributes as cnnrt_attr records, with the storage they point into.
struct CAttrs {
  std::vector<std::string> names, strings;
  std::vector<std::vector<int64_t>> ints;
  std::vector<std::vector<double>> floats;
  std::vector<cnnrt_attr> items;

  explicit CAttrs(const Attrs& attrs) {
    const size_t n = attrs.items().size();
    names.reserve(n), strings.reserve(n), ints.reserve(n), floats.reserve(n);  // stable c_str()/data()
    for (const auto& [key, value] : attrs.items()) {
      if (key == "plugin_kernel") continue;
      cnnrt_attr a{};
      names.push_back(key);
      a.name = names.back().c_str();
      if (auto p = std::get_if<int64_t>(&value)) a.kind = CNNRT_ATTR_INT, a.i = *p;
      else if (auto p = std::get_if<double>(&value)) a.kind = CNNRT_ATTR_FLOAT, a.f = *p;
      else if (auto p = std::get_if<std::string>(&value)) strings.push_back(*p), a.kind = CNNRT_ATTR_STRING, a.s = strings.back().c_str();
      else if (auto p = std::get_if<std::vector<int64_t>>(&value)) ints.push_back(*p), a.kind = CNNRT_ATTR_INTS, a.ints = ints.back().data(), a.n = int64_t(p->size());
      else if (auto p = std::get_if<std::vector<double>>(&value)) floats.push_back(*p), a.kind = CNNRT_ATTR_FLOATS, a.floats = floats.back().data(), a.n = int64_t(p->size());
      items.push_back(a);
    }
  }
};

class PluginStep final : public StepKernel {
 public:
  PluginStep(const StepSpec& s, PluginKernel k, std::string kernel)
      : k_(std::move(k)), kernel_(std::move(kernel)), attrs_(std::make_shared<CAttrs>(*s.attrs)),
        in_shapes_(s.in_shapes), out_shapes_(s.out_shapes), in_present_(s.in_present) {}

  std::string name() const override { return "plugin_" + kernel_ + " (" + k_.origin + ")"; }

  void run(const StepArgs& a) const override {
    std::vector<cnnrt_tensor> in(in_shapes_.size()), out(out_shapes_.size());
    for (size_t i = 0; i < in.size(); ++i)
      in[i] = {in_present_[i] ? const_cast<float*>(a.in[i]) : nullptr, in_shapes_[i].data(),
               static_cast<int32_t>(in_shapes_[i].size())};
    for (size_t i = 0; i < out.size(); ++i)
      out[i] = {a.out[i], out_shapes_[i].data(), static_cast<int32_t>(out_shapes_[i].size())};
    const cnnrt_attrs attrs{attrs_->items.data(), static_cast<int32_t>(attrs_->items.size())};
    char err[1024] = {0};
    const int status = k_.run(in.data(), int32_t(in.size()), out.data(), int32_t(out.size()), &attrs,
                              k_.user_data, err, sizeof err);
    err[sizeof err - 1] = 0;
    if (status != CNNRT_KERNEL_OK)
      throw StepRunError("kernel " + kernel_ + " (" + k_.origin + ") returned status " +
                         std::to_string(status) + ": " + (err[0] ? err : "no message"));
  }

 private:
  PluginKernel k_;
  std::string kernel_;
  std::shared_ptr<const CAttrs> attrs_;
  std::vector<Shape> in_shapes_, out_shapes_;
  std::vector<bool> in_present_;
};

}  // namespace

std::unique_ptr<StepKernel> make_plugin_step(const StepSpec& s) {
  expect(!s.out_shapes.empty(), "a plugin step needs at least one output");
  const std::string kernel = s.attrs->s("plugin_kernel");
  return std::make_unique<PluginStep>(s, find_plugin_kernel(kernel), kernel);
}

}  // namespace cnnrt
