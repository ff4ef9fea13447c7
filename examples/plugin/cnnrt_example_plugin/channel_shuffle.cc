// com.example ChannelShuffle as a cnnrt plugin kernel (the C ABI of cnnrt/plugin.h).
#include <cnnrt/plugin.h>

#include <cstdio>
#include <cstring>

namespace {

int channel_shuffle(const cnnrt_tensor* in, int32_t n_in, const cnnrt_tensor* out, int32_t n_out,
                    const cnnrt_attrs* attrs, void*, char* err, size_t err_len) {
  const int64_t groups = cnnrt_attr_int(attrs, "groups", 2);
  if (n_in != 1 || n_out != 1 || in[0].ndim != 4) {
    std::snprintf(err, err_len, "ChannelShuffle takes one NCHW input and gives one output");
    return CNNRT_KERNEL_ERROR;
  }
  const int64_t n = in[0].shape[0], c = in[0].shape[1], hw = in[0].shape[2] * in[0].shape[3];
  if (groups < 1 || c % groups) {
    std::snprintf(err, err_len, "groups=%lld does not divide %lld channels", (long long)groups, (long long)c);
    return CNNRT_KERNEL_ERROR;
  }
  const int64_t per = c / groups;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t g = 0; g < groups; ++g)
      for (int64_t j = 0; j < per; ++j)  // input channel g * per + j -> output channel j * groups + g
        std::memcpy(out[0].data + (b * c + j * groups + g) * hw, in[0].data + (b * c + g * per + j) * hw,
                    hw * sizeof(float));
  return CNNRT_KERNEL_OK;
}

}  // namespace

extern "C" int cnnrt_plugin_register(const cnnrt_registrar* r) {
  if (r->abi_version != CNNRT_PLUGIN_ABI_VERSION) {
    r->set_error(r, "built for cnnrt plugin ABI 1");
    return CNNRT_KERNEL_ERROR;
  }
  return r->add_kernel(r, "com.example::ChannelShuffle", &channel_shuffle, nullptr);
}
