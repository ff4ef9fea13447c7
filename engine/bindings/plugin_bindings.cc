// The plugin half of cnnrt._engine: loading plugin libraries, and numpy kernels registered as
// plugin kernels behind a C trampoline, so the engine calls Python only through the same C ABI.
//
// The trampoline runs inside Plan::run, which released the GIL: it takes the GIL back for the
// call (PyGILState, so any thread works) and lets it go after. The engine holds no lock while
// a step runs and calls the kernel on the thread that called run(), so concurrent runs only
// take turns in Python; they cannot deadlock on the GIL.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>

#include "cnnrt/plugin_registry.h"

namespace py = pybind11;

namespace {

void write_error(char* err, size_t len, const std::string& msg) {
  if (!err || !len) return;
  std::strncpy(err, msg.c_str(), len - 1);
  err[len - 1] = 0;
}

py::array view(const cnnrt_tensor& t, const py::handle& base, bool writable) {
  std::vector<py::ssize_t> shape(t.shape, t.shape + t.ndim);
  py::array a(py::dtype::of<float>(), shape, {}, t.data, base);
  if (!writable) a.attr("setflags")(py::arg("write") = false);
  return a;
}

py::dict attr_dict(const cnnrt_attrs* attrs) {
  py::dict d;
  for (int32_t k = 0; attrs && k < attrs->count; ++k) {
    const cnnrt_attr& a = attrs->items[k];
    switch (a.kind) {
      case CNNRT_ATTR_INT: d[a.name] = a.i; break;
      case CNNRT_ATTR_FLOAT: d[a.name] = a.f; break;
      case CNNRT_ATTR_STRING: d[a.name] = std::string(a.s); break;
      case CNNRT_ATTR_INTS: d[a.name] = std::vector<int64_t>(a.ints, a.ints + a.n); break;
      case CNNRT_ATTR_FLOATS: d[a.name] = std::vector<double>(a.floats, a.floats + a.n); break;
    }
  }
  return d;
}

// user_data is a Python callable fn(inputs: list[ndarray], outputs: list[ndarray], attrs: dict)
// that fills the outputs; inputs are read-only views, valid only during the call.
int python_trampoline(const cnnrt_tensor* in, int32_t n_in, const cnnrt_tensor* out, int32_t n_out,
                      const cnnrt_attrs* attrs, void* user_data, char* err, size_t err_len) {
  if (!Py_IsInitialized()) {
    write_error(err, err_len, "a numpy kernel cannot run: the Python interpreter is not running");
    return CNNRT_KERNEL_ERROR;
  }
  py::gil_scoped_acquire gil;
  try {
    py::capsule base(in, [](void*) {});  // the views borrow the engine's buffers
    py::list ins, outs;
    for (int32_t i = 0; i < n_in; ++i)
      ins.append(in[i].data ? py::object(view(in[i], base, false)) : py::object(py::none()));
    for (int32_t i = 0; i < n_out; ++i) outs.append(view(out[i], base, true));
    py::handle fn(static_cast<PyObject*>(user_data));
    fn(ins, outs, attr_dict(attrs));
    return CNNRT_KERNEL_OK;
  } catch (py::error_already_set& e) {  // the message without pybind11's traceback
    const std::string type = py::str(e.type().attr("__name__")), msg = py::str(e.value());
    write_error(err, err_len, type == "RuntimeError" ? msg : type + ": " + msg);
  } catch (const std::exception& e) {
    write_error(err, err_len, e.what());
  }
  return CNNRT_KERNEL_ERROR;
}

}  // namespace

void bind_plugins(py::module_& m) {
  m.def("load_plugin", &cnnrt::load_plugin_library, py::arg("path"),
        "dlopens a plugin library, calls its cnnrt_plugin_register; returns the kernel names");
  m.def("register_python_kernel", [](const std::string& name, py::function fn) {
          PyObject* ref = fn.inc_ref().ptr();
          std::shared_ptr<void> owner(ref, [](void* o) {
            if (!Py_IsInitialized()) return;
            py::gil_scoped_acquire gil;
            Py_DECREF(static_cast<PyObject*>(o));
          });
          cnnrt::register_plugin_kernel(name, {&python_trampoline, ref, std::move(owner), "python"}, true);
        }, py::arg("name"), py::arg("fn"),
        "Registers (or replaces) kernel `name` as fn(inputs, outputs, attrs) filling outputs");
  m.def("unregister_plugin_kernel", &cnnrt::unregister_plugin_kernel, py::arg("name"));
  m.def("plugin_kernels", &cnnrt::plugin_kernel_names, "names of the registered plugin kernels");
}
