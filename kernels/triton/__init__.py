"""cnnrt's Triton kernels (installed as cnnrt.kernels.triton): one module per op family, each a
private @triton.jit kernel beside a plain launcher. Importing a module imports triton and torch,
so only the GPU backend and the tests do."""
