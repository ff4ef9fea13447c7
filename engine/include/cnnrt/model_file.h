// The compiled-model file (.cnnrt; layout in engine/MODEL_FILE.md): the one reader, used by the
// Python binding and by the C API. read_model_file() checks the header, the format version,
// the size and the CRC-32C before it trusts a byte, bounds-checks every record, and reads each
// constant into its own 64-byte aligned buffer (so the plan frees each one once it is packed).
#pragma once
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "cnnrt/plan.h"

namespace cnnrt {

constexpr uint32_t kModelFileVersion = 1;
constexpr char kModelFileMagic[8] = {'C', 'N', 'N', 'R', 'T', '\0', '\r', '\n'};

class ModelFileError : public std::runtime_error {
 public:
  // Io: cannot open/read; NotModelFile: no magic; Version: another format version;
  // Truncated: shorter (or longer) than the header says; Corrupt: checksum mismatch;
  // Invalid: checksum fine but the content is inconsistent (a writer bug or a forged file);
  // MissingPlugin: a plugin step's kernel is not registered in this process (load its library).
  enum Kind { Io, NotModelFile, Version, Truncated, Corrupt, Invalid, MissingPlugin };
  ModelFileError(Kind kind, const std::string& msg) : std::runtime_error(msg), kind(kind) {}
  Kind kind;
};

struct ModelFileValue {
  int vid = -1;
  Shape shape;
  bool is_const = false;
  std::shared_ptr<const float> data;  // constants only: numel(shape) floats, 64-byte aligned
};

struct ModelFileInput {
  std::string name, dtype;
  Shape shape;
  int vid = -1;
};

struct ModelFileOutput {
  std::string name;
  Shape shape;
  int vid = -1;                // a step's output, a constant, or a graph input
  bool probabilities = false;  // produced by a softmax (no softmax needed for top-k)
};

// How images are turned into the input tensor (python/cnnrt/preprocess.py's fields).
struct ModelFilePreprocess {
  int64_t height = 0, width = 0;
  int64_t resize = 0;  // 0: resize straight to height x width
  std::string crop;    // "center" or ""
  double scale = 1.0;
  std::vector<double> mean, std;
  std::string channel_order, interpolation, layout;
};

struct ModelFile {
  std::string path;
  uint32_t version = 0;
  std::string producer, source, isa;  // isa: the one the writer compiled for
  uint64_t arena_bytes = 0;           // planned at compile time
  std::vector<ModelFileValue> values;
  std::vector<Step> steps;
  std::vector<std::string> kernels;   // per step, chosen at compile time
  // PLUG records: plugin kernel name -> the file name of the library that provided it when the
  // file was written (a hint for messages; never opened).
  std::vector<std::pair<std::string, std::string>> plugin_libraries;
  std::vector<ModelFileInput> inputs;
  std::vector<ModelFileOutput> outputs;
  bool has_preprocess = false;
  ModelFilePreprocess preprocess;
  std::vector<std::string> labels;
  std::vector<std::pair<std::string, std::string>> metadata;

  const ModelFileValue* value(int vid) const;  // nullptr when absent
  // A compiled plan over these values and steps. Its inputs are `inputs` in order; its outputs
  // are the outputs computed by steps, in order (outputs that are constants or graph inputs
  // never pass through the plan). The constants move into the plan (no copy; each freed once
  // packed): afterwards only constants that are outputs keep their data here, and make_plan
  // cannot be called again. Throws ModelFileError(Invalid) for a file whose steps the engine
  // rejects; std::invalid_argument for a bad num_threads or isa.
  std::unique_ptr<Plan> make_plan(int num_threads, const std::string& isa);
};

// Throws ModelFileError naming path; MissingPlugin when a plugin step's kernel is not registered.
ModelFile read_model_file(const std::string& path);

// True when the file starts with the magic bytes (false for a missing or short file).
bool is_model_file(const std::string& path);

// CRC-32C (Castagnoli; the file's checksum), continued from `crc` (0 to start).
uint32_t crc32c_update(uint32_t crc, const void* data, size_t n);

}  // namespace cnnrt
