// Winograd F(4x4, 3x3) transforms with this folder's avx512 flags, over 32-tile panels.
#include "cpu/winograd_transforms.h"

namespace cnnrt {

const WinogradUkernel f32_winograd_8x32__avx512 = {&f32_gemm_ukernel_8x32__avx512, &wino_input<32>,
                                             &wino_output<32>};

}  // namespace cnnrt
