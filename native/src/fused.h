// Fused CPU kernels (native/src/fused.cc) that other native files call directly.
#pragma once
#include "common.h"

namespace gb {

// Inverted dropout's mask for x (CPU; any float dtype): float32, shaped as x, 0 with probability p
// and 1 / (1 - p) otherwise, from a counter-based hash seeded by one draw of the global CPU
// generator (so manualSeed and the saved RNG state govern it). x * mask is dropout.
at::Tensor dropoutMask(const at::Tensor& x, double p);

void registerFused(Napi::Object exports);
void registerFusedLoss(Napi::Object exports);  // fused-loss.cc

}  // namespace gb
