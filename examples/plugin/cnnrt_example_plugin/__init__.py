"""An example cnnrt plugin package.

- `ops`: the custom op com.example ChannelShuffle (ShuffleNet's channel shuffle), with a shape
  function, a cost, a numpy kernel, a C++ kernel in channel_shuffle.cc (build_cpp_kernel
  compiles it; cnnrt.load_plugin loads it) and a Triton kernel (triton_kernel.py);
- `backend`: Im2colBackend, a backend that runs convolutions as im2col + matmul in numpy and
  ChannelShuffle itself, and leaves every other op to cnnrt's fallback backends.
Both are found through entry points (pyproject.toml); nothing needs importing by hand.
"""
