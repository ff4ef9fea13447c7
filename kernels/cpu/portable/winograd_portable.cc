// Winograd F(4x4, 3x3) transforms with this folder's portable flags, over 8-tile panels.
#include "cpu/winograd_transforms.h"

namespace cnnrt {

const WinogradUkernel f32_winograd_4x8__portable = {&f32_gemm_ukernel_4x8__portable, &wino_input<8>,
                                             &wino_output<8>};

}  // namespace cnnrt
