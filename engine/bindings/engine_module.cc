// cnnrt._engine: the pybind11 face of the C++ engine (see engine/STEPS.md for the contract).
// Every C++ exception surfaces as ValueError; run() checks its inputs and releases the GIL.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <stdexcept>

#include "cnnrt/memory.h"
#include "cnnrt/plan.h"
#include "cnnrt/plugin_registry.h"
#include "cnnrt/version.h"

namespace py = pybind11;
void bind_model_file(py::module_& m);  // model_file_binding.cc
using cnnrt::Attr;
using cnnrt::Attrs;
using cnnrt::Plan;
using cnnrt::Shape;

void bind_plugins(py::module_& m);  // plugin_bindings.cc

namespace {

using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;

// int, float, str, list[int] or list[float] (numpy scalars and 1-D arrays too) -> Attr.
Attr to_attr(const std::string& key, const py::handle& o) {
  auto is_int = [](const py::handle& h) { return !PyFloat_Check(h.ptr()) && PyIndex_Check(h.ptr()); };
  auto is_num = [&](const py::handle& h) { return PyFloat_Check(h.ptr()) || is_int(h) || py::hasattr(h, "__float__"); };
  if (py::isinstance<py::str>(o)) return o.cast<std::string>();
  if (py::isinstance<py::array>(o)) return to_attr(key, o.attr("tolist")());  // 0-d: a scalar
  if (is_int(o)) return static_cast<int64_t>(py::int_(py::reinterpret_borrow<py::object>(o)));
  if (is_num(o)) return o.cast<double>();
  py::object seq = py::reinterpret_borrow<py::object>(o);
  if (py::isinstance<py::list>(seq) || py::isinstance<py::tuple>(seq)) {
    bool ints = true;
    for (auto item : seq) {
      if (!is_num(item)) throw std::invalid_argument("attribute '" + key + "': list items must be numbers");
      ints = ints && is_int(item);
    }
    if (ints) {
      std::vector<int64_t> v;
      for (auto item : seq) v.push_back(static_cast<int64_t>(py::int_(py::reinterpret_borrow<py::object>(item))));
      return v;
    }
    std::vector<double> v;
    for (auto item : seq) v.push_back(item.cast<double>());
    return v;
  }
  throw std::invalid_argument("attribute '" + key + "' has an unsupported type " +
                              std::string(py::str(py::type::of(o).attr("__name__"))));
}

// A graph input as a dense float32 array of the expected shape, else ValueError.
FloatArray as_input(const Plan& p, size_t i, const py::handle& obj) {
  py::array raw = py::array::ensure(obj);
  if (!raw) throw std::invalid_argument("input " + std::to_string(i) + " is not an array");
  const char kind = raw.dtype().kind();
  if (kind != 'f' && kind != 'i' && kind != 'u' && kind != 'b')
    throw std::invalid_argument("input " + std::to_string(i) + ": dtype " +
                                std::string(py::str(raw.dtype())) + " is not float32");
  FloatArray a = FloatArray::ensure(raw);
  if (!a) throw std::invalid_argument("input " + std::to_string(i) + " cannot be converted to float32");
  Shape got(a.shape(), a.shape() + a.ndim());
  if (got != p.input_shape(i))
    throw std::invalid_argument("input " + std::to_string(i) + ": expected shape " +
                                cnnrt::shape_str(p.input_shape(i)) + ", got " + cnnrt::shape_str(got));
  return a;
}

// A caller's output buffer: a writable, C-contiguous float32 array of exactly the output's
// shape (written in place, so nothing may be converted), else ValueError.
float* as_output(const Plan& p, size_t i, const py::handle& obj) {
  if (!py::isinstance<py::array>(obj))
    throw std::invalid_argument("output " + std::to_string(i) + " is not a numpy array");
  py::array a = py::reinterpret_borrow<py::array>(obj);
  Shape got(a.shape(), a.shape() + a.ndim());
  if (!a.dtype().is(py::dtype::of<float>()) || !(a.flags() & py::array::c_style) ||
      !a.writeable() || got != p.output_shape(i))
    throw std::invalid_argument("output " + std::to_string(i) + ": needs a writable C-contiguous "
                                "float32 array of shape " + cnnrt::shape_str(p.output_shape(i)) +
                                ", got " + std::string(py::str(a.dtype())) + " " +
                                cnnrt::shape_str(got) + (a.writeable() ? "" : " (read-only)") +
                                ((a.flags() & py::array::c_style) ? "" : " (not C-contiguous)"));
  return static_cast<float*>(a.mutable_data());
}

// outputs: None (new arrays, returned) or one caller array per output (filled in place; the
// same list is returned).
py::list run(const Plan& p, const py::object& seq, const py::object& outputs) {
  if (!p.compiled()) throw std::invalid_argument("run: the plan is not compiled");
  if (!py::isinstance<py::sequence>(seq) || py::isinstance<py::str>(seq))
    throw std::invalid_argument("run: inputs must be a list of arrays");
  const py::sequence inputs = seq;
  if (inputs.size() != p.num_inputs())
    throw std::invalid_argument("run: expected " + std::to_string(p.num_inputs()) + " inputs, got " +
                                std::to_string(inputs.size()));
  std::vector<FloatArray> keep;
  std::vector<const float*> in;
  for (size_t i = 0; i < inputs.size(); ++i) {
    keep.push_back(as_input(p, i, inputs[i]));
    in.push_back(keep.back().data());
  }
  py::list result;
  std::vector<float*> out;
  if (!outputs.is_none()) {
    if (!py::isinstance<py::sequence>(outputs) || py::len(outputs) != p.num_outputs())
      throw std::invalid_argument("run: outputs must be a list of " +
                                  std::to_string(p.num_outputs()) + " arrays");
    for (size_t i = 0; i < p.num_outputs(); ++i) {
      py::object o = py::reinterpret_borrow<py::sequence>(outputs)[i];
      out.push_back(as_output(p, i, o));
      result.append(o);
    }
  }
  for (size_t i = out.size(); i < p.num_outputs(); ++i) {
    py::array_t<float> a(p.output_shape(i));
    out.push_back(a.mutable_data());
    result.append(a);
  }
  {
    py::gil_scoped_release release;
    p.run(in, out);
  }
  return result;
}

}  // namespace

PYBIND11_MODULE(_engine, m) {
  m.doc() = "cnnrt's C++ inference engine: Plan (values, constants, steps) -> compile -> run";
  m.attr("version") = CNNRT_VERSION;
  // Every C++ failure is a ValueError: bad graphs, shapes, attributes, even allocation failures.
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const py::error_already_set&) {
      throw;
    } catch (const py::builtin_exception&) {
      throw;
    } catch (const cnnrt::StepRunError& e) {  // a kernel failed at run time (a plugin's status)
      PyErr_SetString(PyExc_RuntimeError, e.what());
    } catch (const std::exception& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });

  bind_plugins(m);

  m.def("cpu_features", [] {
    py::dict d;
    for (auto isa : {cnnrt::Isa::Ref, cnnrt::Isa::Portable, cnnrt::Isa::Avx2, cnnrt::Isa::Avx512})
      d[cnnrt::isa_name(isa)] = cnnrt::isa_supported(isa);
    d["best"] = cnnrt::isa_name(cnnrt::detect_isa());
    return d;
  }, "The ISAs this CPU (and OS) supports, and the best one.");

  m.def("pack_buffers", [](const std::vector<size_t>& bytes, const std::vector<int>& first,
                           const std::vector<int>& last) {
    if (first.size() != bytes.size() || last.size() != bytes.size())
      throw std::invalid_argument("pack_buffers: bytes, first and last differ in length");
    std::vector<size_t> offsets;
    const size_t arena = cnnrt::pack_buffers(bytes, first, last, offsets);
    return py::make_tuple(offsets, arena);
  }, py::arg("bytes"), py::arg("first"), py::arg("last"),
  "The engine's memory planner for other executors (the GPU backend): byte offsets in one arena "
  "for buffers alive over [first, last] step indices, and the arena size. (offsets, arena_bytes)");

  py::class_<Plan>(m, "Plan")
      .def(py::init<>())
      .def("add_value", &Plan::add_value, py::arg("vid"), py::arg("shape"))
      .def("add_constant", [](Plan& p, int vid, const py::handle& obj) {
             py::array raw = py::array::ensure(obj);
             if (!raw || std::string("fiub").find(raw.dtype().kind()) == std::string::npos)
               throw std::invalid_argument("add_constant: vid " + std::to_string(vid) + " needs a numeric array");
             FloatArray a = FloatArray::ensure(raw);  // a float32 C-contiguous array: no copy
             // The plan shares the array (holding a reference) instead of copying it: cnnrt's
             // own arrays, which nothing writes once imported.
             PyObject* ref = a.inc_ref().ptr();
             std::shared_ptr<const void> owner(ref, [](const void* o) {
               if (!Py_IsInitialized()) return;  // interpreter gone: nothing left to free
               py::gil_scoped_acquire gil;
               Py_DECREF(static_cast<PyObject*>(const_cast<void*>(o)));
             });
             p.add_constant(vid, Shape(a.shape(), a.shape() + a.ndim()), a.data(), std::move(owner));
           }, py::arg("vid"), py::arg("array"),
           "Shares the array (no copy) until the plan no longer needs it; do not write to it.")
      .def("add_step", [](Plan& p, const std::string& op, const std::vector<int>& inputs,
                          const std::vector<int>& outputs, const py::dict& attrs, const std::string& name) {
             Attrs a;
             for (auto kv : attrs) {
               const std::string key = py::str(kv.first);
               try {
                 a.set(key, to_attr(key, kv.second));
               } catch (const std::exception& e) {
                 throw std::invalid_argument("step '" + name + "' (" + op + "): " + e.what());
               }
             }
             p.add_step(op, inputs, outputs, a, name);
           }, py::arg("op"), py::arg("inputs"), py::arg("outputs"), py::arg("attrs") = py::dict(),
           py::arg("name") = "")
      .def("set_io", &Plan::set_io, py::arg("inputs"), py::arg("outputs"))
      .def("compile", &Plan::compile, py::arg("num_threads") = 0, py::arg("isa") = "auto")
      .def("run", &run, py::arg("inputs"), py::arg("outputs") = py::none(),
           "Runs on a list of input arrays; outputs: None, or a list of writable float32 arrays "
           "of the output shapes to fill in place (the caller keeps them from overlapping)")
      .def_property_readonly("arena_bytes", &Plan::arena_bytes)
      .def_property_readonly("naive_bytes", &Plan::naive_bytes)
      .def("step_kernels", &Plan::step_kernels)
      .def("step_times", &Plan::step_times,
           "Seconds per step since compile, summed over the runs made while profiling was on")
      .def_property("profiling", &Plan::profiling, &Plan::set_profiling,
                    "Per-step timers on/off (off by default, on when CNNRT_PROFILE=1 at compile)")
      .def_property_readonly("isa", &Plan::isa)
      .def_property_readonly("num_threads", &Plan::num_threads);
  bind_model_file(m);
}
