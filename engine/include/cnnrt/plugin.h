/* cnnrt's plugin C ABI: custom-op kernels in a shared library, run by the C++ engine directly.
 *
 * A plugin library exports one function,
 *
 *     int cnnrt_plugin_register(const cnnrt_registrar* r);
 *
 * which calls r->add_kernel(r, "domain::OpType", run, user_data) once per op it implements
 * and returns 0 (non-zero: it failed; put the reason in r's error buffer with set_error).
 * `cnnrt.load_plugin(path)` (or `cnnrt_load_plugin(path)` in the C API, cnnrt.h) dlopens the
 * library and calls it; the op's shape and cost still come from Python (`cnnrt.register_op`),
 * the kernel from here. A .cnnrt file saved with such a kernel names it; load the library
 * before the file. Only plain C types cross the
 * boundary, so a plugin builds with any C or C++ compiler and never links against cnnrt:
 *
 *     c++ -O2 -shared -fPIC -I$(python -c "import cnnrt; print(cnnrt.plugin_include_dir())") \
 *         my_ops.cc -o libmy_ops.so
 *
 * Tensors are dense row-major float32. A kernel may be called from several threads at once
 * (concurrent runs of one model): keep no mutable state outside its arguments. It returns
 * CNNRT_KERNEL_OK, or an error status after writing a message into err (at most err_len bytes,
 * NUL-terminated); cnnrt raises it as an error naming the node.
 */
#ifndef CNNRT_PLUGIN_H_
#define CNNRT_PLUGIN_H_

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CNNRT_PLUGIN_ABI_VERSION 1
#define CNNRT_KERNEL_OK 0
#define CNNRT_KERNEL_ERROR 1

typedef struct cnnrt_tensor {
  float* data;           /* inputs: read only; outputs: the kernel writes every element */
  const int64_t* shape;  /* ndim dims */
  int32_t ndim;
} cnnrt_tensor;

/* One attribute of the ONNX node (kind says which field holds the value). */
enum { CNNRT_ATTR_INT = 0, CNNRT_ATTR_FLOAT = 1, CNNRT_ATTR_STRING = 2, CNNRT_ATTR_INTS = 3,
       CNNRT_ATTR_FLOATS = 4 };
typedef struct cnnrt_attr {
  const char* name;
  int32_t kind;
  int64_t i;
  double f;
  const char* s;
  const int64_t* ints;   /* n values */
  const double* floats;  /* n values */
  int64_t n;
} cnnrt_attr;

typedef struct cnnrt_attrs {
  const cnnrt_attr* items;
  int32_t count;
} cnnrt_attrs;

typedef int (*cnnrt_kernel_fn)(const cnnrt_tensor* inputs, int32_t n_inputs,
                               const cnnrt_tensor* outputs, int32_t n_outputs,
                               const cnnrt_attrs* attrs, void* user_data, char* err, size_t err_len);

typedef struct cnnrt_registrar {
  int32_t abi_version;  /* CNNRT_PLUGIN_ABI_VERSION of the engine loading the plugin */
  void* context;        /* the engine's; pass r itself back */
  /* Returns CNNRT_KERNEL_OK, or CNNRT_KERNEL_ERROR when the name is taken or malformed. */
  int (*add_kernel)(const struct cnnrt_registrar* r, const char* op, cnnrt_kernel_fn run,
                    void* user_data);
  void (*set_error)(const struct cnnrt_registrar* r, const char* message);
} cnnrt_registrar;

typedef int (*cnnrt_plugin_register_fn)(const cnnrt_registrar* r);

/* The attribute called name, or NULL. */
static inline const cnnrt_attr* cnnrt_find_attr(const cnnrt_attrs* a, const char* name) {
  for (int32_t k = 0; a && k < a->count; ++k)
    if (strcmp(a->items[k].name, name) == 0) return &a->items[k];
  return NULL;
}

static inline int64_t cnnrt_attr_int(const cnnrt_attrs* a, const char* name, int64_t def) {
  const cnnrt_attr* x = cnnrt_find_attr(a, name);
  return x && x->kind == CNNRT_ATTR_INT ? x->i : def;
}

static inline double cnnrt_attr_float(const cnnrt_attrs* a, const char* name, double def) {
  const cnnrt_attr* x = cnnrt_find_attr(a, name);
  return !x ? def : x->kind == CNNRT_ATTR_FLOAT ? x->f : x->kind == CNNRT_ATTR_INT ? (double)x->i : def;
}

#ifdef __cplusplus
}
#endif

#endif /* CNNRT_PLUGIN_H_ */
