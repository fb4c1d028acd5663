{
  "targets": [
    {
      "target_name": "rtkd_native",
      "sources": ["csrc/addon.cc", "csrc/kernels.cc", "csrc/fused.cc", "csrc/avx512.cc", "csrc/generic.cc", "csrc/inference.cc", "csrc/zoo.cc", "csrc/zoo_addon.cc", "csrc/winograd.cc", "csrc/bn_avx512.cc", "csrc/bn_avx2.cc", "csrc/bn_generic.cc", "csrc/softpool.cc", "csrc/winograd_filter.cc", "csrc/amx.cc"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-O3", "-fno-math-errno", "-fno-trapping-math"],
      "xcode_settings": {
        "OTHER_CPLUSPLUSFLAGS": ["-std=c++17", "-O3", "-fno-math-errno", "-fno-trapping-math"],
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES"
      },
      "defines": ["NAPI_VERSION=8"],
      "ldflags": ["-pthread"]
    }
  ]
}
