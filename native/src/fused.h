// Fused CPU kernels (native/src/fused.cc) that other native files call directly.
#pragma once
#include "common.h"

// Hot loops are compiled for AVX-512, AVX2 and plain x86-64, the CPU picking at load time (GCC's
// target_clones); elsewhere (other architectures, other compilers) once, for the build's target.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define GB_KERNEL_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define GB_KERNEL_CLONES
#endif

namespace gb {

// Inverted dropout's mask for x (CPU; any float dtype): float32, shaped as x, 0 with probability p
// and 1 / (1 - p) otherwise, from a counter-based hash seeded by one draw of the global CPU
// generator (so manualSeed and the saved RNG state govern it). x * mask is dropout.
at::Tensor dropoutMask(const at::Tensor& x, double p);

// growbert's one-pass AdamW (what fused.cc's comment describes) applies to contiguous CPU float32 tensors.
bool adamwFusable(const at::Tensor& t);
// One AdamW step in place on each parameter (every tensor adamwFusable, of equal sizes; throws otherwise).
void adamwFused(std::vector<at::Tensor>& ps, const std::vector<at::Tensor>& gs, std::vector<at::Tensor>& ms,
                std::vector<at::Tensor>& vs, double lr, double b1, double b2, double eps, double wd, double bc1, double bc2);

void registerFused(Napi::Object exports);
void registerOptim(Napi::Object exports);      // optim.cc
void registerFusedLoss(Napi::Object exports);  // fused-loss.cc
void registerFusedCast(Napi::Object exports);  // fused-cast.cc

}  // namespace gb
