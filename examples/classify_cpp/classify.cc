// classify: top-5 labels for an image, with a compiled cnnrt model and no Python.
//
//   classify MODEL.cnnrt IMAGE.ppm [THREADS]
//
// The image is a binary PPM (P6, 8-bit; no image library needed: `convert x.jpg x.ppm`, or
// PIL's Image.save("x.ppm")). It is preprocessed as the model file says, the way
// python/cnnrt/preprocess.py does it with PIL: shorter side resized with PIL's resampling
// filters (same fixed-point arithmetic, so the same pixels), center crop, (x * scale - mean) / std.
#include <cnnrt/cnnrt.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

struct Image {
  int64_t w = 0, h = 0, c = 3;  // interleaved 8-bit channels
  std::vector<uint8_t> px;
  uint8_t* at(int64_t x, int64_t y) { return &px[(y * w + x) * c]; }
  const uint8_t* at(int64_t x, int64_t y) const { return &px[(y * w + x) * c]; }
};

Image read_ppm(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error(path + ": cannot open");
  auto token = [&]() {
    std::string t;
    for (int ch; (ch = f.get()) != EOF;) {
      if (ch == '#') {
        while ((ch = f.get()) != EOF && ch != '\n') {}
        continue;
      }
      if (std::isspace(ch)) {
        if (!t.empty()) break;
        continue;
      }
      t += static_cast<char>(ch);
    }
    return t;
  };
  if (token() != "P6") throw std::runtime_error(path + ": not a binary PPM (P6)");
  Image im;
  try {
    im.w = std::stoll(token());
    im.h = std::stoll(token());
    if (std::stoll(token()) != 255) throw std::runtime_error("");
  } catch (const std::exception&) {
    throw std::runtime_error(path + ": bad PPM header (want width, height, maxval 255)");
  }
  if (im.w <= 0 || im.h <= 0 || im.w > 1 << 16 || im.h > 1 << 16) throw std::runtime_error(path + ": bad PPM size");
  im.px.resize(static_cast<size_t>(im.w * im.h * 3));
  if (!f.read(reinterpret_cast<char*>(im.px.data()), static_cast<std::streamsize>(im.px.size())))
    throw std::runtime_error(path + ": the PPM pixel data is cut short");
  return im;
}

Image to_gray(const Image& in) {  // PIL's convert("L"): ITU-R 601-2 luma in 16-bit fixed point
  Image out{in.w, in.h, 1, std::vector<uint8_t>(static_cast<size_t>(in.w * in.h))};
  for (int64_t i = 0; i < in.w * in.h; ++i) {
    const uint8_t* p = &in.px[i * 3];
    out.px[i] = static_cast<uint8_t>((p[0] * 19595 + p[1] * 38470 + p[2] * 7471 + 0x8000) >> 16);
  }
  return out;
}

// --- PIL's resampling (libImaging/Resample.c): separable, one pass per axis, 8-bit
//     intermediate, coefficients in 22-bit fixed point.
constexpr int kPrecisionBits = 32 - 8 - 2;

double bilinear(double x) {
  x = std::fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}
double bicubic(double x) {
  const double a = -0.5;
  x = std::fabs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

struct Coeffs {
  int ksize = 0;
  std::vector<int> bounds;  // per output: first input index, count
  std::vector<int> k;       // per output: ksize fixed-point weights
};

Coeffs precompute(int64_t in_size, int64_t out_size, double (*filter)(double), double support) {
  const double scale = static_cast<double>(in_size) / static_cast<double>(out_size);
  const double filterscale = std::max(scale, 1.0);
  support *= filterscale;
  Coeffs c;
  c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.bounds.resize(static_cast<size_t>(out_size) * 2);
  c.k.assign(static_cast<size_t>(out_size) * c.ksize, 0);
  std::vector<double> w(c.ksize);
  for (int64_t xx = 0; xx < out_size; ++xx) {
    const double center = (xx + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    int xmin = static_cast<int>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = static_cast<int>(in_size);
    xmax -= xmin;
    double ww = 0.0;
    for (int x = 0; x < xmax; ++x) ww += (w[x] = filter((x + xmin - center + 0.5) * ss));
    for (int x = 0; x < xmax; ++x) {
      const double v = ww != 0.0 ? w[x] / ww : w[x];
      c.k[xx * c.ksize + x] = static_cast<int>(v < 0 ? -0.5 + v * (1 << kPrecisionBits) : 0.5 + v * (1 << kPrecisionBits));
    }
    c.bounds[xx * 2] = xmin;
    c.bounds[xx * 2 + 1] = xmax;
  }
  return c;
}

uint8_t clip8(int v) { return static_cast<uint8_t>(std::clamp(v >> kPrecisionBits, 0, 255)); }

// One pass along x (horizontal) or y: out has the other dimension of `in`.
Image resample_pass(const Image& in, int64_t out_size, bool horizontal, double (*filter)(double), double support) {
  const Coeffs c = precompute(horizontal ? in.w : in.h, out_size, filter, support);
  Image out{horizontal ? out_size : in.w, horizontal ? in.h : out_size, in.c, {}};
  out.px.resize(static_cast<size_t>(out.w * out.h * out.c));
  for (int64_t y = 0; y < out.h; ++y)
    for (int64_t x = 0; x < out.w; ++x) {
      const int64_t o = horizontal ? x : y;
      const int* k = &c.k[o * c.ksize];
      const int first = c.bounds[o * 2], n = c.bounds[o * 2 + 1];
      for (int64_t ch = 0; ch < in.c; ++ch) {
        int ss = 1 << (kPrecisionBits - 1);
        for (int i = 0; i < n; ++i)
          ss += (horizontal ? in.at(first + i, y) : in.at(x, first + i))[ch] * k[i];
        out.at(x, y)[ch] = clip8(ss);
      }
    }
  return out;
}

Image resize(const Image& in, int64_t w, int64_t h, const std::string& interpolation) {
  if (in.w == w && in.h == h) return in;
  if (interpolation == "nearest") {  // PIL: an affine scale, source coordinate accumulated in double
    auto table = [](int64_t n_in, int64_t n_out) {
      std::vector<int64_t> src(static_cast<size_t>(n_out));
      const double step = double(n_in) / double(n_out);
      double at = step * 0.5;
      for (auto& s : src) s = std::min<int64_t>(static_cast<int64_t>(at), n_in - 1), at += step;
      return src;
    };
    const auto xs = table(in.w, w), ys = table(in.h, h);
    Image out{w, h, in.c, std::vector<uint8_t>(static_cast<size_t>(w * h * in.c))};
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x) std::memcpy(out.at(x, y), in.at(xs[x], ys[y]), static_cast<size_t>(in.c));
    return out;
  }
  auto filter = interpolation == "bicubic" ? bicubic : bilinear;
  const double support = interpolation == "bicubic" ? 2.0 : 1.0;
  // Pillow 13 runs the vertical pass first when the height shrinks by more than twice as many
  // pixels as the width (earlier versions: always horizontal first); the order moves rounding.
  if (h < in.h && in.h - h > 2 * (in.w - w)) {
    Image out = resample_pass(in, h, false, filter, support);
    return out.w != w ? resample_pass(out, w, true, filter, support) : out;
  }
  Image out = in.w != w ? resample_pass(in, w, true, filter, support) : in;
  return out.h != h ? resample_pass(out, h, false, filter, support) : out;
}

Image crop(const Image& in, int64_t left, int64_t top, int64_t w, int64_t h) {
  Image out{w, h, in.c, std::vector<uint8_t>(static_cast<size_t>(w * h * in.c))};
  for (int64_t y = 0; y < h; ++y) std::memcpy(out.at(0, y), in.at(left, top + y), static_cast<size_t>(w * in.c));
  return out;
}

int64_t round_half_even(int64_t twice) {  // Python's round(twice / 2)
  const int64_t q = twice / 2;
  return twice % 2 == 0 ? q : (q % 2 == 0 ? q : q + 1);
}

// python/cnnrt/preprocess.py's image_to_tensor, for one image, into `x` (C*H*W floats).
void preprocess(const Image& rgb, const cnnrt_preprocess& p, float* x) {
  Image img = p.channels == 1 ? to_gray(rgb) : rgb;
  const int64_t h = p.height, w = p.width;
  if (p.resize > 0) {
    const int64_t nw = img.w <= img.h ? p.resize : static_cast<int64_t>(double(p.resize * img.w) / double(img.h));
    const int64_t nh = img.w <= img.h ? static_cast<int64_t>(double(p.resize * img.h) / double(img.w)) : p.resize;
    img = resize(img, std::max(w, nw), std::max(h, nh), p.interpolation);
    if (p.center_crop) img = crop(img, round_half_even(img.w - w), round_half_even(img.h - h), w, h);
  }
  if (img.w != w || img.h != h) img = resize(img, w, h, p.interpolation);
  const bool bgr = std::strcmp(p.channel_order, "BGR") == 0, nhwc = std::strcmp(p.layout, "NHWC") == 0;
  const int64_t c = static_cast<int64_t>(p.channels);
  for (int64_t y = 0; y < h; ++y)
    for (int64_t xx = 0; xx < w; ++xx)
      for (int64_t ch = 0; ch < c; ++ch) {
        const int64_t src = bgr ? c - 1 - ch : ch;
        const float v = (static_cast<float>(img.at(xx, y)[src]) * static_cast<float>(p.scale) -
                         static_cast<float>(p.mean[ch])) / static_cast<float>(p.std[ch]);
        x[nhwc ? (y * w + xx) * c + ch : (ch * h + y) * w + xx] = v;
      }
}

int check(cnnrt_status s) {
  if (s != CNNRT_OK) {
    std::fprintf(stderr, "classify: %s: %s\n", cnnrt_status_name(s), cnnrt_last_error());
    std::exit(1);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: classify MODEL.cnnrt IMAGE.ppm [THREADS]\n");
    return 2;
  }
  cnnrt_model* model = nullptr;
  check(cnnrt_model_load(argv[1], argc > 3 ? std::atoi(argv[3]) : 0, nullptr, &model));
  cnnrt_tensor_info in, out;
  cnnrt_preprocess pre;
  check(cnnrt_model_input(model, 0, &in));
  check(cnnrt_model_output(model, 0, &out));
  check(cnnrt_model_preprocess(model, &pre));
  Image image;
  try {
    image = read_ppm(argv[2]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "classify: %s\n", e.what());
    return 1;
  }
  // Every batch item gets the image (the file runs the batch it was compiled for).
  const int64_t batch = in.rank ? in.shape[0] : 1;
  const size_t per_image = in.numel / static_cast<size_t>(std::max<int64_t>(batch, 1));
  if (per_image != static_cast<size_t>(pre.height * pre.width) * pre.channels) {
    std::fprintf(stderr, "classify: %s: input 0 holds %zu floats per image, the preprocessing makes %lld\n",
                 argv[1], per_image, static_cast<long long>(pre.height * pre.width * int64_t(pre.channels)));
    return 1;
  }
  std::vector<float> x(in.numel), y(out.numel);
  preprocess(image, pre, x.data());
  for (int64_t b = 1; b < batch; ++b) std::copy(x.begin(), x.begin() + per_image, x.begin() + b * per_image);
  const float* ins[] = {x.data()};
  float* outs[] = {y.data()};
  check(cnnrt_model_run(model, ins, 1, outs, 1));

  const size_t classes = out.numel / static_cast<size_t>(std::max<int64_t>(batch, 1));
  std::vector<float> p(y.begin(), y.begin() + classes);
  if (!cnnrt_model_output_is_probabilities(model, 0)) {  // softmax, as Model.predict does
    const float m = *std::max_element(p.begin(), p.end());
    float sum = 0.f;
    for (float& v : p) sum += (v = std::exp(v - m));
    for (float& v : p) v /= sum;
  }
  std::vector<size_t> order(classes);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return p[a] > p[b]; });
  std::printf("model %s (isa %s)\nimage %s\n", argv[1], cnnrt_model_isa(model), argv[2]);
  for (size_t i = 0; i < std::min<size_t>(5, classes); ++i) {
    const char* label = cnnrt_model_label(model, order[i]);
    std::printf("  %.6f  %s\n", p[order[i]], label ? label : ("class_" + std::to_string(order[i])).c_str());
  }
  cnnrt_model_free(model);
  return 0;
}
