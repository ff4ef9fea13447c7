// The optimized kernels of kernels.inc as tables, for the factories, tests and benchmarks.
#pragma once
#include <memory>
#include <vector>

#include "cpu/kernel_api.h"

namespace cnnrt {

struct ConvVariant {
  const char* name;
  Isa isa;
  // nullptr when the variant does not handle this (valid) desc.
  std::unique_ptr<ConvKernel> (*create)(const ConvDesc&, const float* w, const float* b);
};
struct GemmVariant {
  const char* name;
  Isa isa;
  std::unique_ptr<GemmKernel> (*create)(const GemmDesc&, const float* w, const float* b);
};

const std::vector<ConvVariant>& conv_variants();  // in kernels.inc order (= preference)
const std::vector<GemmVariant>& gemm_variants();

// The naive reference kernels (kernels/cpu/ref/), the oracle for every variant.
std::unique_ptr<ConvKernel> make_ref_conv(const ConvDesc& d, const float* w, const float* b);
std::unique_ptr<GemmKernel> make_ref_gemm(const GemmDesc& d, const float* w, const float* b);

// Throw std::invalid_argument with a message naming the bad field.
void validate_conv_desc(const ConvDesc& d);
void validate_gemm_desc(const GemmDesc& d);

}  // namespace cnnrt
