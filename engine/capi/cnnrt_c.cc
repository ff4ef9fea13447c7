// The C API (engine/include/cnnrt/cnnrt.h) over the engine: a model is the parsed file plus
// its compiled Plan. No exception crosses the C boundary: each entry point turns one into a
// status and a per-thread message.
#include "cnnrt/cnnrt.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "cnnrt/model_file.h"
#include "cnnrt/plugin_library.h"
#include "cnnrt/version.h"

struct cnnrt_model {
  cnnrt::ModelFile file;
  std::unique_ptr<cnnrt::Plan> plan;
  std::vector<size_t> numel_in, numel_out;
  // How output i is filled: from the plan's output `index`, a copy of graph input `index`,
  // or a copy of the constant `data`.
  struct Source {
    enum Kind { Plan, Input, Const } kind;
    size_t index = 0;
    const float* data = nullptr;
  };
  std::vector<Source> sources;
};

namespace {

thread_local std::string last_error;

cnnrt_status fail(cnnrt_status status, std::string msg) {
  last_error = std::move(msg);
  return status;
}

cnnrt_status from_file_error(const cnnrt::ModelFileError& e) {
  using K = cnnrt::ModelFileError;
  switch (e.kind) {
    case K::Io: return fail(CNNRT_IO_ERROR, e.what());
    case K::NotModelFile: return fail(CNNRT_NOT_A_MODEL_FILE, e.what());
    case K::Version: return fail(CNNRT_VERSION_MISMATCH, e.what());
    case K::Truncated:
    case K::Corrupt: return fail(CNNRT_CORRUPT_FILE, e.what());
    case K::MissingPlugin: return fail(CNNRT_PLUGIN_ERROR, e.what());
    case K::Invalid: break;
  }
  return fail(CNNRT_INVALID_MODEL, e.what());
}

// Runs f, turning any exception into a status; f returns the status itself on success paths.
template <class F>
cnnrt_status guarded(const char* what, F&& f) {
  try {
    return f();
  } catch (const cnnrt::ModelFileError& e) {
    return from_file_error(e);
  } catch (const std::bad_alloc&) {
    return fail(CNNRT_RUNTIME_ERROR, std::string(what) + ": out of memory");
  } catch (const std::invalid_argument& e) {
    return fail(CNNRT_INVALID_ARGUMENT, std::string(what) + ": " + e.what());
  } catch (const std::exception& e) {
    return fail(CNNRT_RUNTIME_ERROR, std::string(what) + ": " + e.what());
  } catch (...) {
    return fail(CNNRT_RUNTIME_ERROR, std::string(what) + ": unknown error");
  }
}

size_t count(const cnnrt::Shape& s) { return static_cast<size_t>(cnnrt::numel(s)); }

void fill_info(const std::string& name, const cnnrt::Shape& shape, cnnrt_tensor_info* info) {
  info->name = name.c_str();
  info->rank = shape.size();
  info->shape = shape.data();
  info->numel = count(shape);
}

cnnrt_model* build(const char* path, int num_threads, const char* isa) {
  auto m = std::make_unique<cnnrt_model>();
  m->file = cnnrt::read_model_file(path);
  m->plan = m->file.make_plan(num_threads, isa ? isa : "auto");
  const auto& f = m->file;
  for (const auto& in : f.inputs) m->numel_in.push_back(count(in.shape));
  size_t next = 0;
  for (const auto& out : f.outputs) {
    m->numel_out.push_back(count(out.shape));
    const auto in = std::find_if(f.inputs.begin(), f.inputs.end(), [&](const auto& i) { return i.vid == out.vid; });
    const cnnrt::ModelFileValue* v = f.value(out.vid);
    if (in != f.inputs.end()) m->sources.push_back({cnnrt_model::Source::Input, size_t(in - f.inputs.begin()), nullptr});
    else if (v->is_const) m->sources.push_back({cnnrt_model::Source::Const, 0, v->data.get()});
    else m->sources.push_back({cnnrt_model::Source::Plan, next++, nullptr});
  }
  return m.release();
}

}  // namespace

extern "C" {

const char* cnnrt_version(void) { return CNNRT_VERSION; }
uint32_t cnnrt_model_file_version(void) { return cnnrt::kModelFileVersion; }
const char* cnnrt_last_error(void) { return last_error.c_str(); }

const char* cnnrt_status_name(cnnrt_status status) {
  switch (status) {
    case CNNRT_OK: return "CNNRT_OK";
    case CNNRT_INVALID_ARGUMENT: return "CNNRT_INVALID_ARGUMENT";
    case CNNRT_IO_ERROR: return "CNNRT_IO_ERROR";
    case CNNRT_NOT_A_MODEL_FILE: return "CNNRT_NOT_A_MODEL_FILE";
    case CNNRT_VERSION_MISMATCH: return "CNNRT_VERSION_MISMATCH";
    case CNNRT_CORRUPT_FILE: return "CNNRT_CORRUPT_FILE";
    case CNNRT_INVALID_MODEL: return "CNNRT_INVALID_MODEL";
    case CNNRT_NOT_FOUND: return "CNNRT_NOT_FOUND";
    case CNNRT_RUNTIME_ERROR: return "CNNRT_RUNTIME_ERROR";
    case CNNRT_PLUGIN_ERROR: return "CNNRT_PLUGIN_ERROR";
  }
  return "CNNRT_UNKNOWN_STATUS";
}

cnnrt_status cnnrt_model_load(const char* path, int num_threads, const char* isa, cnnrt_model** model) {
  if (!model) return fail(CNNRT_INVALID_ARGUMENT, "cnnrt_model_load: model (the result pointer) is NULL");
  *model = nullptr;
  if (!path) return fail(CNNRT_INVALID_ARGUMENT, "cnnrt_model_load: path is NULL");
  return guarded(path, [&] {
    *model = build(path, num_threads, isa);
    return CNNRT_OK;
  });
}

void cnnrt_model_free(cnnrt_model* model) { delete model; }

cnnrt_status cnnrt_load_plugin(const char* path) {
  if (!path) return fail(CNNRT_INVALID_ARGUMENT, "cnnrt_load_plugin: path is NULL");
  try {
    cnnrt::load_plugin_library(path);
    return CNNRT_OK;
  } catch (const cnnrt::PluginLoadError& e) {  // its message names the file
    return fail(e.kind == cnnrt::PluginLoadError::NoFile ? CNNRT_IO_ERROR : CNNRT_PLUGIN_ERROR, e.what());
  } catch (const std::bad_alloc&) {
    return fail(CNNRT_RUNTIME_ERROR, std::string(path) + ": out of memory");
  } catch (const std::exception& e) {
    return fail(CNNRT_PLUGIN_ERROR, std::string(path) + ": " + e.what());
  } catch (...) {
    return fail(CNNRT_PLUGIN_ERROR, std::string(path) + ": unknown error");
  }
}

size_t cnnrt_model_num_inputs(const cnnrt_model* model) { return model ? model->file.inputs.size() : 0; }
size_t cnnrt_model_num_outputs(const cnnrt_model* model) { return model ? model->file.outputs.size() : 0; }

cnnrt_status cnnrt_model_input(const cnnrt_model* model, size_t index, cnnrt_tensor_info* info) {
  if (!model || !info) return fail(CNNRT_INVALID_ARGUMENT, "cnnrt_model_input: model or info is NULL");
  if (index >= model->file.inputs.size())
    return fail(CNNRT_INVALID_ARGUMENT, model->file.path + ": no input " + std::to_string(index) + " (it has " +
                                            std::to_string(model->file.inputs.size()) + ")");
  fill_info(model->file.inputs[index].name, model->file.inputs[index].shape, info);
  return CNNRT_OK;
}

cnnrt_status cnnrt_model_output(const cnnrt_model* model, size_t index, cnnrt_tensor_info* info) {
  if (!model || !info) return fail(CNNRT_INVALID_ARGUMENT, "cnnrt_model_output: model or info is NULL");
  if (index >= model->file.outputs.size())
    return fail(CNNRT_INVALID_ARGUMENT, model->file.path + ": no output " + std::to_string(index) + " (it has " +
                                            std::to_string(model->file.outputs.size()) + ")");
  fill_info(model->file.outputs[index].name, model->file.outputs[index].shape, info);
  return CNNRT_OK;
}

int cnnrt_model_output_is_probabilities(const cnnrt_model* model, size_t index) {
  return model && index < model->file.outputs.size() && model->file.outputs[index].probabilities;
}

cnnrt_status cnnrt_model_preprocess(const cnnrt_model* model, cnnrt_preprocess* out) {
  if (!model || !out) return fail(CNNRT_INVALID_ARGUMENT, "cnnrt_model_preprocess: model or out is NULL");
  if (!model->file.has_preprocess) return fail(CNNRT_NOT_FOUND, model->file.path + ": the file has no preprocessing");
  const auto& p = model->file.preprocess;
  *out = cnnrt_preprocess{};
  out->height = p.height;
  out->width = p.width;
  out->resize = p.resize;
  out->center_crop = p.crop == "center";
  out->scale = p.scale;
  out->channels = p.mean.size();  // the reader checked: 1 or 3, as many std
  for (size_t c = 0; c < out->channels; ++c) out->mean[c] = p.mean[c], out->std[c] = p.std[c];
  out->channel_order = p.channel_order.c_str();
  out->interpolation = p.interpolation.c_str();
  out->layout = p.layout.c_str();
  return CNNRT_OK;
}

size_t cnnrt_model_num_labels(const cnnrt_model* model) { return model ? model->file.labels.size() : 0; }

const char* cnnrt_model_label(const cnnrt_model* model, size_t index) {
  return model && index < model->file.labels.size() ? model->file.labels[index].c_str() : nullptr;
}

const char* cnnrt_model_metadata(const cnnrt_model* model, const char* key) {
  if (!model || !key) return nullptr;
  for (const auto& [k, v] : model->file.metadata)
    if (k == key) return v.c_str();
  return nullptr;
}

const char* cnnrt_model_isa(const cnnrt_model* model) { return model ? model->plan->isa().c_str() : nullptr; }
const char* cnnrt_model_compiled_isa(const cnnrt_model* model) { return model ? model->file.isa.c_str() : nullptr; }

cnnrt_status cnnrt_model_run(const cnnrt_model* model, const float* const* inputs, size_t num_inputs,
                             float* const* outputs, size_t num_outputs) {
  if (!model) return fail(CNNRT_INVALID_ARGUMENT, "cnnrt_model_run: model is NULL");
  const auto& f = model->file;
  if (num_inputs != f.inputs.size() || num_outputs != f.outputs.size())
    return fail(CNNRT_INVALID_ARGUMENT, f.path + ": cnnrt_model_run got " + std::to_string(num_inputs) + " inputs and " +
                                            std::to_string(num_outputs) + " outputs; the model has " +
                                            std::to_string(f.inputs.size()) + " and " + std::to_string(f.outputs.size()));
  if (num_inputs && !inputs) return fail(CNNRT_INVALID_ARGUMENT, f.path + ": cnnrt_model_run: inputs is NULL");
  if (!outputs) return fail(CNNRT_INVALID_ARGUMENT, f.path + ": cnnrt_model_run: outputs is NULL");
  for (size_t i = 0; i < num_inputs; ++i)
    if (!inputs[i]) return fail(CNNRT_INVALID_ARGUMENT, f.path + ": input " + std::to_string(i) + " ('" + f.inputs[i].name + "') is NULL");
  for (size_t i = 0; i < num_outputs; ++i)
    if (!outputs[i]) return fail(CNNRT_INVALID_ARGUMENT, f.path + ": output " + std::to_string(i) + " ('" + f.outputs[i].name + "') is NULL");
  return guarded(f.path.c_str(), [&] {
    std::vector<const float*> in(inputs, inputs + num_inputs);
    std::vector<float*> out;
    for (size_t i = 0; i < num_outputs; ++i)
      if (model->sources[i].kind == cnnrt_model::Source::Plan) out.push_back(outputs[i]);
    model->plan->run(in, out);
    for (size_t i = 0; i < num_outputs; ++i) {
      const auto& s = model->sources[i];
      const float* from = s.kind == cnnrt_model::Source::Input ? inputs[s.index] : s.data;
      if (s.kind != cnnrt_model::Source::Plan && model->numel_out[i]) std::memcpy(outputs[i], from, model->numel_out[i] * sizeof(float));
    }
    return CNNRT_OK;
  });
}

}  // extern "C"
