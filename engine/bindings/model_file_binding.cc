// cnnrt._engine.load_model_file: the C++ .cnnrt reader (engine/src/model_file.cc) for Python.
// Returns the compiled Plan with everything the file says about the model, as plain objects.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "cnnrt/model_file.h"

namespace py = pybind11;

namespace {

py::dict load_model_file(const std::string& path, int num_threads, const std::string& isa) {
  cnnrt::ModelFile m;
  std::unique_ptr<cnnrt::Plan> plan;
  {
    py::gil_scoped_release release;  // reading and packing a large model takes a while
    m = cnnrt::read_model_file(path);
    plan = m.make_plan(num_threads, isa);
  }
  py::dict d;
  d["version"] = m.version;
  d["producer"] = m.producer;
  d["source"] = m.source;
  d["isa"] = m.isa;
  d["arena_bytes"] = m.arena_bytes;
  py::list inputs, outputs, names;
  for (const auto& in : m.inputs) inputs.append(py::make_tuple(in.name, in.dtype, in.shape));
  py::dict constants;  // outputs that are constants: their values
  for (const auto& out : m.outputs) {
    const cnnrt::ModelFileValue* v = m.value(out.vid);
    int input_index = -1;
    for (size_t i = 0; i < m.inputs.size(); ++i)
      if (m.inputs[i].vid == out.vid) input_index = static_cast<int>(i);
    py::object value = py::none();
    if (v->is_const) {
      py::array_t<float> a(v->shape);
      std::copy(v->data.get(), v->data.get() + cnnrt::numel(v->shape), a.mutable_data());
      value = a;
    }
    // (name, shape, probabilities, the graph input it passes through or -1, its constant or None)
    outputs.append(py::make_tuple(out.name, out.shape, out.probabilities, input_index, value));
  }
  for (const auto& s : m.steps) names.append(s.name);
  d["inputs"] = inputs;
  d["outputs"] = outputs;
  d["step_names"] = names;
  d["kernels"] = m.kernels;
  if (m.has_preprocess) {
    const auto& p = m.preprocess;
    py::dict pp;
    pp["size"] = std::vector<int64_t>{p.height, p.width};
    pp["resize"] = p.resize > 0 ? py::object(py::int_(p.resize)) : py::object(py::none());
    pp["crop"] = p.crop.empty() ? py::object(py::none()) : py::object(py::str(p.crop));
    pp["scale"] = p.scale;
    pp["mean"] = p.mean;
    pp["std"] = p.std;
    pp["channel_order"] = p.channel_order;
    pp["interpolation"] = p.interpolation;
    pp["layout"] = p.layout;
    d["preprocess"] = pp;
  } else {
    d["preprocess"] = py::none();
  }
  d["labels"] = m.labels;
  py::dict meta;
  for (const auto& [k, v] : m.metadata) meta[py::str(k)] = v;
  d["metadata"] = meta;
  d["plan"] = py::cast(std::move(plan));
  return d;
}

}  // namespace

void bind_model_file(py::module_& m) {
  m.attr("model_file_version") = cnnrt::kModelFileVersion;
  m.def("load_model_file", &load_model_file, py::arg("path"), py::arg("num_threads") = 0,
        py::arg("isa") = "auto",
        "Reads a .cnnrt file (checks version, size, checksum) and compiles its plan for this "
        "machine. Returns a dict: plan, inputs, outputs, preprocess, labels, metadata, isa "
        "(compiled for), kernels (chosen then), arena_bytes, version, producer, source.");
  m.def("crc32c", [](const py::object& data, uint32_t crc) {
          Py_buffer view;
          if (PyObject_GetBuffer(data.ptr(), &view, PyBUF_C_CONTIGUOUS) != 0) throw py::error_already_set();
          uint32_t result;
          {
            py::gil_scoped_release release;
            result = cnnrt::crc32c_update(crc, view.buf, static_cast<size_t>(view.len));
          }
          PyBuffer_Release(&view);
          return result;
        }, py::arg("data"), py::arg("crc") = 0,
        "CRC-32C of a contiguous bytes-like object, continued from crc: the .cnnrt checksum.");
  m.def("is_model_file", &cnnrt::is_model_file, py::arg("path"),
        "True when the file starts with the .cnnrt magic bytes.");
}
