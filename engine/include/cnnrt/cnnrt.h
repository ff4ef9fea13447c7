/* cnnrt.h: the C API of cnnrt's inference engine (libcnnrt). No Python in the process.
 *
 * It loads a compiled model (.cnnrt, written by `cnnrt compile MODEL -o FILE` or Model.save in
 * Python; layout in engine/MODEL_FILE.md), describes it (inputs, outputs, preprocessing,
 * labels, metadata) and runs it on buffers the caller owns. CMake: find_package(cnnrt) and link
 * cnnrt::cnnrt (the folder: `python -m cnnrt --cmake-dir`).
 *
 *     cnnrt_model* m;
 *     if (cnnrt_model_load("model.cnnrt", 0, NULL, &m) != CNNRT_OK) {
 *       fprintf(stderr, "%s\n", cnnrt_last_error());
 *       return 1;
 *     }
 *     cnnrt_tensor_info in, out;
 *     cnnrt_model_input(m, 0, &in);   // in.numel floats, shape in.shape[0 .. in.rank)
 *     cnnrt_model_output(m, 0, &out);
 *     ... fill x (in.numel floats), allocate y (out.numel floats) ...
 *     const float* ins[] = {x};
 *     float* outs[] = {y};
 *     cnnrt_model_run(m, ins, 1, outs, 1);
 *     cnnrt_model_free(m);
 *
 * Thread safety:
 *   - One model, many threads: cnnrt_model_run may be called on the same model from any number
 *     of threads at once (each call leases its own activation arena; the weights are shared,
 *     read-only). Every query function may run concurrently with runs and with each other.
 *   - cnnrt_model_free must not overlap any other call on that model, and nothing may use the
 *     model (or a string, shape or label it returned) afterwards.
 *   - Many models in one process are independent; each has its own thread pool of
 *     num_threads workers (0: one per core), so several busy models share the cores.
 *   - Errors are per thread: cnnrt_last_error() is the message of the calling thread's last
 *     failed call.
 *   - Plugin libraries: cnnrt_load_plugin may be called from any thread, also concurrently
 *     (loads are serialized inside; loading one file twice is a no-op). Load the libraries a
 *     model needs before cnnrt_model_load of that model; loading more while other models load
 *     or run is safe. Kernels are never unloaded while the process lives.
 *
 * A file is compiled for one set of input shapes (its batch); it runs those shapes only.
 * All tensors are dense float32, row-major (NCHW for images).
 */
#ifndef CNNRT_H_
#define CNNRT_H_

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32) && defined(CNNRT_BUILDING_LIBRARY)
#define CNNRT_API __declspec(dllexport)
#elif defined(_WIN32)
#define CNNRT_API __declspec(dllimport)
#else
#define CNNRT_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cnnrt_model cnnrt_model; /* opaque */

typedef enum cnnrt_status {
  CNNRT_OK = 0,
  CNNRT_INVALID_ARGUMENT = 1, /* a NULL pointer, an index out of range, a wrong buffer count,
                                 an unknown or unsupported isa, num_threads < 0 */
  CNNRT_IO_ERROR = 2,         /* the file cannot be opened or read */
  CNNRT_NOT_A_MODEL_FILE = 3, /* no CNNRT magic at its start */
  CNNRT_VERSION_MISMATCH = 4, /* written in another format version: compile it again */
  CNNRT_CORRUPT_FILE = 5,     /* truncated, or the checksum does not match */
  CNNRT_INVALID_MODEL = 6,    /* the checksum matches but the content is inconsistent */
  CNNRT_NOT_FOUND = 7,        /* the file carries no such item (e.g. no preprocessing) */
  CNNRT_RUNTIME_ERROR = 8,    /* a failure while running, e.g. out of memory */
  CNNRT_PLUGIN_ERROR = 9      /* cnnrt_load_plugin: not a loadable library, no
                                 cnnrt_plugin_register in it, or its registration failed;
                                 cnnrt_model_load: the file has a plugin step whose kernel no
                                 loaded plugin library registers (load that library first) */
} cnnrt_status;

/* The library's version ("0.1.0") and the model-file format version it reads. */
CNNRT_API const char* cnnrt_version(void);
CNNRT_API uint32_t cnnrt_model_file_version(void);
/* "CNNRT_OK", "CNNRT_IO_ERROR", ... */
CNNRT_API const char* cnnrt_status_name(cnnrt_status status);
/* The message of this thread's last failed call ("" if none); it names the file, input or
   step at fault. Valid until this thread's next failing call. */
CNNRT_API const char* cnnrt_last_error(void);

/* Loads a plugin library (a shared library exporting cnnrt_plugin_register, cnnrt/plugin.h:
   the C++ kernels of custom ops, named "domain::OpType") and registers its kernels for this
   process, as cnnrt.load_plugin does in Python (the same code). A model file whose steps run
   plugin kernels needs their library loaded first. Loading the same file again succeeds and
   changes nothing. Errors: CNNRT_IO_ERROR (no such file), CNNRT_PLUGIN_ERROR (not a loadable
   library, no cnnrt_plugin_register symbol, or registration failed, e.g. a kernel name another
   library already registered; then nothing of it stays registered); the message names the file. */
CNNRT_API cnnrt_status cnnrt_load_plugin(const char* path);

/* Reads and checks `path` (magic, format version, size, checksum) and compiles it for this
   machine: isa NULL or "auto" picks the best the CPU has ("avx512", "avx2", "portable", "ref"
   force one); num_threads 0 uses every core. On success *model is set; free it with
   cnnrt_model_free. */
CNNRT_API cnnrt_status cnnrt_model_load(const char* path, int num_threads, const char* isa,
                                        cnnrt_model** model);
CNNRT_API void cnnrt_model_free(cnnrt_model* model); /* NULL is fine */

typedef struct cnnrt_tensor_info {
  const char* name;
  size_t rank;
  const int64_t* shape; /* rank dims */
  size_t numel;         /* the product of shape: the buffer's float count */
} cnnrt_tensor_info;

CNNRT_API size_t cnnrt_model_num_inputs(const cnnrt_model* model);
CNNRT_API size_t cnnrt_model_num_outputs(const cnnrt_model* model);
/* Pointers in *info stay valid while the model lives. */
CNNRT_API cnnrt_status cnnrt_model_input(const cnnrt_model* model, size_t index, cnnrt_tensor_info* info);
CNNRT_API cnnrt_status cnnrt_model_output(const cnnrt_model* model, size_t index, cnnrt_tensor_info* info);
/* 1 when output `index` is already probabilities (a softmax), 0 when it is logits (or bad index). */
CNNRT_API int cnnrt_model_output_is_probabilities(const cnnrt_model* model, size_t index);

/* How to turn an image into the input tensor, as python/cnnrt/preprocess.py does it: resize
   the shorter side to `resize` (keeping the aspect ratio; 0: resize straight to
   height x width), cut height x width from the center when center_crop, then per pixel
   (value * scale - mean[c]) / std[c] with channels in channel_order, in `layout`. */
typedef struct cnnrt_preprocess {
  int64_t height, width;
  int64_t resize;
  int center_crop;
  double scale;
  size_t channels; /* 3 (RGB or BGR) or 1 (L) */
  double mean[3], std[3];
  const char* channel_order; /* "RGB", "BGR" or "L" */
  const char* interpolation; /* "bilinear", "bicubic" or "nearest" (PIL's resampling filters) */
  const char* layout;        /* "NCHW" or "NHWC" */
} cnnrt_preprocess;
CNNRT_API cnnrt_status cnnrt_model_preprocess(const cnnrt_model* model, cnnrt_preprocess* out);

/* Class names for output 0, in order; 0 labels when the file names none. */
CNNRT_API size_t cnnrt_model_num_labels(const cnnrt_model* model);
CNNRT_API const char* cnnrt_model_label(const cnnrt_model* model, size_t index); /* NULL out of range */
/* The ONNX model's metadata_props (e.g. "cnnrt.weights"); NULL when absent. */
CNNRT_API const char* cnnrt_model_metadata(const cnnrt_model* model, const char* key);
/* The ISA this model runs with now, and the one it was compiled for when written. */
CNNRT_API const char* cnnrt_model_isa(const cnnrt_model* model);
CNNRT_API const char* cnnrt_model_compiled_isa(const cnnrt_model* model);

/* Runs the model: inputs[i] holds input i's numel floats, outputs[i] receives output i's
   numel floats (buffers owned by the caller, not overlapping one another). num_inputs and
   num_outputs must equal the model's counts. Safe to call from several threads at once. */
CNNRT_API cnnrt_status cnnrt_model_run(const cnnrt_model* model, const float* const* inputs,
                                       size_t num_inputs, float* const* outputs, size_t num_outputs);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* CNNRT_H_ */
