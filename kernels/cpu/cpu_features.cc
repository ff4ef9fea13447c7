// Run-time ISA detection: CPUID says what the processor implements, XGETBV whether the OS
// saves the YMM/ZMM register state (without it AVX instructions fault even on capable CPUs).
// CNNRT_ISA=ref|portable|avx2|avx512 caps what detect_isa() returns (for testing the slower
// paths on a fast machine); isa_supported() always answers for the hardware.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "cpu/kernel_api.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define CNNRT_HAVE_CPUID 1
#endif

namespace cnnrt {
namespace {

struct HwFeatures {
  bool avx2 = false;    // AVX2 + FMA + F16C, YMM state enabled
  bool avx512 = false;  // AVX-512 F/BW/DQ/VL, ZMM and opmask state enabled
};

#if CNNRT_HAVE_CPUID
uint64_t xgetbv0() {
  uint32_t eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (uint64_t(edx) << 32) | eax;
}

HwFeatures probe() {
  HwFeatures f;
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool osxsave = c & (1u << 27), avx = c & (1u << 28), fma = c & (1u << 12),
             f16c = c & (1u << 29);
  if (!osxsave || !avx) return f;
  const uint64_t xcr0 = xgetbv0();
  const bool ymm_os = (xcr0 & 0x6) == 0x6;     // XMM and YMM state
  const bool zmm_os = (xcr0 & 0xE6) == 0xE6;   // + opmask, ZMM_Hi256, Hi16_ZMM
  if (__get_cpuid_max(0, nullptr) < 7) return f;
  __cpuid_count(7, 0, a, b, c, d);
  const bool avx2 = b & (1u << 5);
  const bool f512 = b & (1u << 16), dq = b & (1u << 17), bw = b & (1u << 30), vl = b & (1u << 31);
  f.avx2 = ymm_os && avx2 && fma && f16c;
  f.avx512 = f.avx2 && zmm_os && f512 && dq && bw && vl;
  return f;
}
#else
HwFeatures probe() { return {}; }
#endif

const HwFeatures& hw() {
  static const HwFeatures f = probe();
  return f;
}

// The cap from CNNRT_ISA, or Avx512 (no cap) when unset or unrecognised.
Isa env_cap() {
  const char* s = std::getenv("CNNRT_ISA");
  if (!s || !*s) return Isa::Avx512;
  for (Isa i : {Isa::Ref, Isa::Portable, Isa::Avx2, Isa::Avx512})
    if (std::strcmp(s, isa_name(i)) == 0) return i;
  static bool warned = false;
  if (!warned) {
    warned = true;
    std::fprintf(stderr, "cnnrt: ignoring CNNRT_ISA=%s (expected ref|portable|avx2|avx512)\n", s);
  }
  return Isa::Avx512;
}

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Ref: return "ref";
    case Isa::Portable: return "portable";
    case Isa::Avx2: return "avx2";
    case Isa::Avx512: return "avx512";
  }
  return "unknown";
}

bool isa_supported(Isa isa) {
  switch (isa) {
    case Isa::Ref:
    case Isa::Portable: return true;
#if CNNRT_X86
    case Isa::Avx2: return hw().avx2;
    case Isa::Avx512: return hw().avx512;
#else
    default: return false;  // the ISA units are not built
#endif
  }
  return false;
}

Isa detect_isa() {
  const Isa cap = env_cap();
  for (Isa i : {Isa::Avx512, Isa::Avx2, Isa::Portable})
    if (int(i) <= int(cap) && isa_supported(i)) return i;
  return Isa::Ref;  // only when CNNRT_ISA=ref
}

}  // namespace cnnrt
