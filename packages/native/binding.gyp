{
  "targets": [
    {
      "target_name": "rtkd_native",
      "sources": ["csrc/addon.cc", "csrc/kernels.cc", "csrc/fused.cc", "csrc/gemm512.cc", "csrc/direct512.cc"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-O3", "-fno-math-errno", "-fno-trapping-math"],
      "defines": ["NAPI_VERSION=8"],
      "ldflags": ["-pthread"]
    }
  ]
}
