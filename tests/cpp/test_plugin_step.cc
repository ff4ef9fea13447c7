// Unit tests of the engine's plugin step, below Python: a kernel registered through the plugin
// registry runs in a Plan with every kind of attribute, from several threads at once (runs of
// one plan); a kernel's error status comes back as StepRunError naming the step; an unknown
// kernel name and a taken name are refused. Exit code 0 = all passed.
//
//   test_plugin_step [--seed N]
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "cnnrt/plan.h"
#include "cnnrt/plugin_registry.h"

#include "check.h"

using namespace cnnrt;

namespace {
using cnnrt_test::failures;

// y = scale * x + offsets[c] (channel axis 1) + len(tag); scale < 0: an error status.
int affine(const cnnrt_tensor* in, int32_t n_in, const cnnrt_tensor* out, int32_t n_out,
           const cnnrt_attrs* attrs, void* calls, char* err, size_t err_len) {
  static_cast<std::atomic<int>*>(calls)->fetch_add(1);
  const double scale = cnnrt_attr_float(attrs, "scale", 1.0);
  const cnnrt_attr* off = cnnrt_find_attr(attrs, "offsets");
  const cnnrt_attr* tag = cnnrt_find_attr(attrs, "tag");
  const cnnrt_attr* axes = cnnrt_find_attr(attrs, "axes");
  if (scale < 0) {
    std::snprintf(err, err_len, "negative scale %g", scale);
    return CNNRT_KERNEL_ERROR;
  }
  if (n_in != 1 || n_out != 1 || !off || off->kind != CNNRT_ATTR_FLOATS || !tag ||
      tag->kind != CNNRT_ATTR_STRING || !axes || axes->kind != CNNRT_ATTR_INTS || axes->n != 2 ||
      cnnrt_find_attr(attrs, "plugin_kernel")) {
    std::snprintf(err, err_len, "bad arguments");
    return CNNRT_KERNEL_ERROR;
  }
  const int64_t c = in[0].shape[1], inner = in[0].shape[2];
  const int64_t total = in[0].shape[0] * c * inner;
  for (int64_t i = 0; i < total; ++i)
    out[0].data[i] = float(scale) * in[0].data[i] + float(off->floats[(i / inner) % c]) +
                     float(std::strlen(tag->s));
  return CNNRT_KERNEL_OK;
}

std::unique_ptr<Plan> make_plan(double scale) {
  auto p = std::make_unique<Plan>();
  p->add_value(0, {2, 3, 4});
  p->add_value(1, {2, 3, 4});
  Attrs a;
  a.set("plugin_kernel", std::string("test::Affine"));
  a.set("scale", scale);
  a.set("offsets", std::vector<double>{0.5, -1.0, 2.0});
  a.set("tag", std::string("abc"));
  a.set("axes", std::vector<int64_t>{1, 2});
  p->add_step("plugin", {0}, {1}, a, "affine_node");
  p->set_io({0}, {1});
  p->compile(2, "auto");
  return p;
}

void test_run_concurrently(std::mt19937& rng) {
  auto plan = make_plan(1.5);
  CHECK(plan->step_kernels()[0].find("test::Affine") != std::string::npos);
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    std::vector<float> x(24);
    for (float& v : x) v = std::uniform_real_distribution<float>(-2, 2)(rng);
    threads.emplace_back([&plan, &ok, x] {
      std::vector<float> y(24);
      for (int rep = 0; rep < 100; ++rep) {
        plan->run({x.data()}, {y.data()});
        bool good = true;
        for (int i = 0; i < 24; ++i) {
          const float want = 1.5f * x[i] + std::vector<float>{0.5f, -1.f, 2.f}[(i / 4) % 3] + 3.f;
          good = good && std::fabs(y[i] - want) < 1e-5f;
        }
        ok += good;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(ok == 400);
}

void test_errors() {
  auto plan = make_plan(-1.0);
  std::vector<float> x(24, 1.f), y(24);
  std::string msg;
  try {
    plan->run({x.data()}, {y.data()});
  } catch (const StepRunError& e) {
    msg = e.what();
  }
  CHECK(msg.find("step 'affine_node' (plugin)") != std::string::npos);
  CHECK(msg.find("negative scale -1") != std::string::npos);
  bool refused = false;
  try {  // an unknown kernel name fails at compile, naming the step
    Plan p;
    p.add_value(0, {1});
    p.add_value(1, {1});
    Attrs a;
    a.set("plugin_kernel", std::string("test::Nope"));
    p.add_step("plugin", {0}, {1}, a, "nope_node");
    p.set_io({0}, {1});
    p.compile(1, "auto");
  } catch (const std::invalid_argument& e) {
    refused = std::string(e.what()).find("nope_node") != std::string::npos &&
              std::string(e.what()).find("test::Nope") != std::string::npos;
  }
  CHECK(refused);
  bool taken = false;
  try {
    register_plugin_kernel("test::Affine", PluginKernel{&affine, nullptr, nullptr, "again"}, false);
  } catch (const std::invalid_argument& e) {
    taken = std::string(e.what()).find("already registered (by test)") != std::string::npos;
  }
  CHECK(taken);
}
}  // namespace

int main(int argc, char** argv) {
  uint32_t seed = std::random_device{}();
  for (int i = 1; i < argc; ++i)
    if (!std::strcmp(argv[i], "--seed") && i + 1 < argc) seed = uint32_t(std::atoi(argv[++i]));
  std::printf("test_plugin_step: seed %u\n", seed);
  std::mt19937 rng(seed);
  static std::atomic<int> calls{0};
  register_plugin_kernel("test::Affine", PluginKernel{&affine, &calls, nullptr, "test"}, false);
  test_run_concurrently(rng);
  CHECK(calls >= 400);
  test_errors();
  CHECK(unregister_plugin_kernel("test::Affine"));
  CHECK(!unregister_plugin_kernel("test::Affine"));
  std::printf("%s (%d failures)\n", failures ? "FAILED" : "all passed", failures);
  return failures ? 1 : 0;
}
