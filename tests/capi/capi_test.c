/* Drives libcnnrt from plain C (no Python in the process) for tests/test_c_api.py:
 *
 *   capi_test run MODEL IN OUT [MODEL IN OUT ...]   load all, run each in its own thread at once
 *   capi_test threads MODEL IN NTHREADS ITERS       many threads on one model = one thread's results
 *   capi_test leak MODEL IN                         RSS after 1,000 and 10,000 runs; load/free cycles
 *   capi_test load FILE                             status name and message of loading FILE
 *   capi_test misuse MODEL                          bad arguments: status names and messages
 *   capi_test plugin LIB MODEL IN OUT               MODEL refused before LIB is loaded (status and
 *                                                   message printed), LIB loaded from 4 threads at
 *                                                   once, then MODEL loaded and run
 *   capi_test loadplugin PATH                       status name and message of loading PATH
 *
 * IN/OUT files hold every input/output's float32 values back to back. Exit status 0 = checks
 * passed (the Python side compares OUT files against onnxruntime).
 */
#include <cnnrt/cnnrt.h>
#include <cnnrt/plugin.h> /* both headers in one program: their names do not clash */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAXIO 8

static void die(const char* what, cnnrt_status s) {
  fprintf(stderr, "%s: %s: %s\n", what, cnnrt_status_name(s), cnnrt_last_error());
  exit(1);
}

static cnnrt_model* load(const char* path) { /* with CAPI_THREADS engine threads (default 1) */
  cnnrt_model* m = NULL;
  const char* threads = getenv("CAPI_THREADS");
  cnnrt_status s = cnnrt_model_load(path, threads ? atoi(threads) : 1, NULL, &m);
  if (s != CNNRT_OK) die(path, s);
  return m;
}

/* A model's input/output buffers, inputs read from a file. */
typedef struct {
  cnnrt_model* m;
  size_t n_in, n_out, in_n[MAXIO], out_n[MAXIO];
  float *in[MAXIO], *out[MAXIO];
} job;

static void job_init(job* j, cnnrt_model* m) {
  cnnrt_tensor_info t;
  j->m = m;
  j->n_in = cnnrt_model_num_inputs(m);
  j->n_out = cnnrt_model_num_outputs(m);
  if (j->n_in > MAXIO || j->n_out > MAXIO) die("too many inputs or outputs", CNNRT_INVALID_ARGUMENT);
  for (size_t i = 0; i < j->n_in; ++i) {
    cnnrt_model_input(m, i, &t);
    j->in_n[i] = t.numel;
    j->in[i] = calloc(t.numel + 1, sizeof(float));
  }
  for (size_t i = 0; i < j->n_out; ++i) {
    cnnrt_model_output(m, i, &t);
    j->out_n[i] = t.numel;
    j->out[i] = calloc(t.numel + 1, sizeof(float));
  }
}

static void job_read(job* j, const char* path) {
  FILE* f = fopen(path, "rb");
  if (!f) die(path, CNNRT_IO_ERROR);
  for (size_t i = 0; i < j->n_in; ++i)
    if (fread(j->in[i], sizeof(float), j->in_n[i], f) != j->in_n[i]) die(path, CNNRT_IO_ERROR);
  fclose(f);
}

static void job_write(const job* j, const char* path) {
  FILE* f = fopen(path, "wb");
  if (!f) die(path, CNNRT_IO_ERROR);
  for (size_t i = 0; i < j->n_out; ++i) fwrite(j->out[i], sizeof(float), j->out_n[i], f);
  fclose(f);
}

static cnnrt_status job_run(job* j) {
  return cnnrt_model_run(j->m, (const float* const*)j->in, j->n_in, j->out, j->n_out);
}

static void* run_thread(void* arg) {
  job* j = arg;
  cnnrt_status s = job_run(j);
  if (s != CNNRT_OK) die("run", s);
  return NULL;
}

static int cmd_run(int argc, char** argv) {
  int n = argc / 3;
  job* jobs = calloc((size_t)n, sizeof(job));
  pthread_t* t = calloc((size_t)n, sizeof(pthread_t));
  for (int k = 0; k < n; ++k) { /* every model alive at once */
    job_init(&jobs[k], load(argv[3 * k]));
    job_read(&jobs[k], argv[3 * k + 1]);
  }
  for (int k = 0; k < n; ++k) pthread_create(&t[k], NULL, run_thread, &jobs[k]);
  for (int k = 0; k < n; ++k) pthread_join(t[k], NULL);
  for (int k = 0; k < n; ++k) job_write(&jobs[k], argv[3 * k + 2]);
  for (int k = 0; k < n; ++k) cnnrt_model_free(jobs[k].m);
  printf("ran %d models\n", n);
  return 0;
}

/* Thread k runs input (base * (1 + k/8)) `iters` times; each result must equal the one a
   single thread got for that input before any concurrency. */
typedef struct {
  job j;
  float* want[MAXIO];
  int iters, mismatches;
} worker;

static void* work(void* arg) {
  worker* w = arg;
  for (int it = 0; it < w->iters; ++it) {
    for (size_t i = 0; i < w->j.n_out; ++i) memset(w->j.out[i], 0xFF, w->j.out_n[i] * sizeof(float));
    cnnrt_status s = job_run(&w->j);
    if (s != CNNRT_OK) die("run in a thread", s);
    for (size_t i = 0; i < w->j.n_out; ++i)
      if (memcmp(w->j.out[i], w->want[i], w->j.out_n[i] * sizeof(float)) != 0) w->mismatches++;
  }
  return NULL;
}

static int cmd_threads(const char* model, const char* in, int nthreads, int iters) {
  cnnrt_model* m = load(model);
  worker* w = calloc((size_t)nthreads, sizeof(worker));
  pthread_t* t = calloc((size_t)nthreads, sizeof(pthread_t));
  for (int k = 0; k < nthreads; ++k) {
    job_init(&w[k].j, m);
    job_read(&w[k].j, in);
    for (size_t i = 0; i < w[k].j.n_in; ++i)
      for (size_t e = 0; e < w[k].j.in_n[i]; ++e) w[k].j.in[i][e] *= 1.0f + (float)k / 8;
    cnnrt_status s = job_run(&w[k].j);
    if (s != CNNRT_OK) die("single-thread run", s);
    for (size_t i = 0; i < w[k].j.n_out; ++i) {
      w[k].want[i] = malloc(w[k].j.out_n[i] * sizeof(float));
      memcpy(w[k].want[i], w[k].j.out[i], w[k].j.out_n[i] * sizeof(float));
    }
    w[k].iters = iters;
  }
  for (int k = 0; k < nthreads; ++k) pthread_create(&t[k], NULL, work, &w[k]);
  int bad = 0;
  for (int k = 0; k < nthreads; ++k) {
    pthread_join(t[k], NULL);
    bad += w[k].mismatches;
  }
  /* the inputs differ, so the results must too (else the check above proves nothing) */
  int distinct = memcmp(w[0].want[0], w[nthreads - 1].want[0], w[0].j.out_n[0] * sizeof(float)) != 0;
  printf("threads %d iters %d mismatches %d distinct %d\n", nthreads, iters, bad, distinct);
  cnnrt_model_free(m);
  return bad != 0 || !distinct;
}

static long rss_kib(void) {
  long pages = 0, resident = 0;
  FILE* f = fopen("/proc/self/statm", "r");
  if (!f || fscanf(f, "%ld %ld", &pages, &resident) != 2) return -1;
  fclose(f);
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static int cmd_leak(const char* model, const char* in) {
  job j;
  job_init(&j, load(model));
  job_read(&j, in);
  long rss[4];
  for (int it = 0; it < 10000; ++it) {
    cnnrt_status s = job_run(&j);
    if (s != CNNRT_OK) die("run", s);
    if (it + 1 == 1000) rss[0] = rss_kib();
  }
  rss[1] = rss_kib();
  cnnrt_model_free(j.m);
  for (int it = 0; it < 500; ++it) { /* load, run, free */
    cnnrt_model* m = load(model);
    j.m = m;
    if (job_run(&j) != CNNRT_OK) die("run", CNNRT_RUNTIME_ERROR);
    cnnrt_model_free(m);
    if (it + 1 == 50) rss[2] = rss_kib();
  }
  rss[3] = rss_kib();
  printf("rss_kib runs1000 %ld runs10000 %ld loads50 %ld loads500 %ld\n", rss[0], rss[1], rss[2], rss[3]);
  return 0;
}

static int cmd_load(const char* path) {
  cnnrt_model* m = (cnnrt_model*)1; /* must be reset to NULL on failure */
  cnnrt_status s = cnnrt_model_load(path, 1, NULL, &m);
  printf("%s %s\n", cnnrt_status_name(s), s == CNNRT_OK ? "" : cnnrt_last_error());
  if (s != CNNRT_OK && m != NULL) return 1;
  cnnrt_model_free(m);
  return 0;
}

#define EXPECT(call, want)                                                          \
  do {                                                                              \
    cnnrt_status s_ = (call);                                                       \
    printf("%s -> %s: %s\n", #call, cnnrt_status_name(s_), cnnrt_last_error());     \
    if (s_ != (want)) {                                                             \
      fprintf(stderr, "expected %s\n", cnnrt_status_name(want));                    \
      return 1;                                                                     \
    }                                                                               \
  } while (0)

static int cmd_misuse(const char* model) {
  cnnrt_model* m = load(model);
  cnnrt_model* none = NULL;
  cnnrt_tensor_info t;
  job j;
  job_init(&j, m);
  EXPECT(cnnrt_model_load(NULL, 1, NULL, &none), CNNRT_INVALID_ARGUMENT);
  EXPECT(cnnrt_model_load(model, 1, NULL, NULL), CNNRT_INVALID_ARGUMENT);
  EXPECT(cnnrt_model_load(model, 1, "sse9", &none), CNNRT_INVALID_ARGUMENT);
  EXPECT(cnnrt_model_load(model, -1, NULL, &none), CNNRT_INVALID_ARGUMENT);
  EXPECT(cnnrt_model_input(m, 99, &t), CNNRT_INVALID_ARGUMENT);
  EXPECT(cnnrt_model_output(m, 0, NULL), CNNRT_INVALID_ARGUMENT);
  EXPECT(cnnrt_model_run(m, (const float* const*)j.in, j.n_in + 1, j.out, j.n_out), CNNRT_INVALID_ARGUMENT);
  EXPECT(cnnrt_model_run(m, (const float* const*)j.in, j.n_in, NULL, j.n_out), CNNRT_INVALID_ARGUMENT);
  float* saved = j.in[0];
  j.in[0] = NULL;
  EXPECT(cnnrt_model_run(m, (const float* const*)j.in, j.n_in, j.out, j.n_out), CNNRT_INVALID_ARGUMENT);
  j.in[0] = saved;
  EXPECT(cnnrt_model_run(m, (const float* const*)j.in, j.n_in, j.out, j.n_out), CNNRT_OK);
  if (cnnrt_model_label(m, 1u << 30) != NULL || cnnrt_model_metadata(m, "no such key") != NULL) return 1;
  printf("version %s format %u isa %s compiled_isa %s labels %zu weights %s\n", cnnrt_version(),
         cnnrt_model_file_version(), cnnrt_model_isa(m), cnnrt_model_compiled_isa(m), cnnrt_model_num_labels(m),
         cnnrt_model_metadata(m, "cnnrt.weights") ? cnnrt_model_metadata(m, "cnnrt.weights") : "-");
  cnnrt_model_free(m);
  cnnrt_model_free(NULL);
  return 0;
}

static void* load_plugin_thread(void* lib) {
  cnnrt_status s = cnnrt_load_plugin(lib);
  if (s != CNNRT_OK) die("cnnrt_load_plugin in a thread", s);
  return NULL;
}

static int cmd_plugin(const char* lib, const char* model, const char* in, const char* out) {
  cnnrt_model* m = NULL;
  cnnrt_status s = cnnrt_model_load(model, 1, NULL, &m);
  printf("before %s %s\n", cnnrt_status_name(s), cnnrt_last_error());
  if (s == CNNRT_OK || m != NULL) return 1;
  pthread_t t[4]; /* concurrent loads of one library: all succeed, it registers once */
  for (int k = 0; k < 4; ++k) pthread_create(&t[k], NULL, load_plugin_thread, (void*)lib);
  for (int k = 0; k < 4; ++k) pthread_join(t[k], NULL);
  job j;
  job_init(&j, load(model));
  job_read(&j, in);
  s = job_run(&j);
  if (s != CNNRT_OK) die("run", s);
  job_write(&j, out);
  cnnrt_model_free(j.m);
  printf("after CNNRT_OK\n");
  return 0;
}

static int cmd_loadplugin(const char* path) {
  cnnrt_status s = cnnrt_load_plugin(path);
  printf("%s %s\n", cnnrt_status_name(s), s == CNNRT_OK ? "" : cnnrt_last_error());
  return 0;
}

int main(int argc, char** argv) {
  if (argc >= 5 && strcmp(argv[1], "run") == 0 && (argc - 2) % 3 == 0) return cmd_run(argc - 2, argv + 2);
  if (argc == 6 && strcmp(argv[1], "threads") == 0) return cmd_threads(argv[2], argv[3], atoi(argv[4]), atoi(argv[5]));
  if (argc == 4 && strcmp(argv[1], "leak") == 0) return cmd_leak(argv[2], argv[3]);
  if (argc == 3 && strcmp(argv[1], "load") == 0) return cmd_load(argv[2]);
  if (argc == 3 && strcmp(argv[1], "misuse") == 0) return cmd_misuse(argv[2]);
  if (argc == 6 && strcmp(argv[1], "plugin") == 0) return cmd_plugin(argv[2], argv[3], argv[4], argv[5]);
  if (argc == 3 && strcmp(argv[1], "loadplugin") == 0) return cmd_loadplugin(argv[2]);
  fprintf(stderr, "usage: see the comment at the top of capi_test.c\n");
  return 2;
}
