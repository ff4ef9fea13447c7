// Winograd F(4x4, 3x3) transforms with this folder's avx2 flags, over 16-tile panels.
#include "cpu/winograd_transforms.h"

namespace cnnrt {

const WinogradUkernel f32_winograd_6x16__avx2 = {&f32_gemm_ukernel_6x16__avx2, &wino_input<16>,
                                             &wino_output<16>};

}  // namespace cnnrt
