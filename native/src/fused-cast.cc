// float32 <-> bfloat16 casts on the CPU as one vectorized pass. Mixed precision casts every float32
// master weight to bfloat16 each step and the bfloat16 gradient back; libtorch's CPU cast converts
// element by element, about 5 ns each on one thread: on the mini shape the tied 30522 x 256
// decoder weight alone cost ~110 ms of a ~740 ms bf16 step (`bench --profile`: aten::to forward,
// ToCopyBackward0 backward). The rounding is c10::BFloat16's (round to nearest even, NaN to the
// quiet 0x7FC0), so the results are bit-identical to libtorch's; this pass only does it faster.
#include "fused.h"

#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <cstring>

// Built with -O3 -fno-math-errno -fno-trapping-math (scripts/build-native.mjs): the loops vectorize.

namespace gb {

namespace {

GB_KERNEL_CLONES void narrowRows(const uint32_t* __restrict x, uint16_t* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    const uint32_t u = x[i];
    const uint32_t rounded = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
    y[i] = static_cast<uint16_t>((u & 0x7FFFFFFFu) > 0x7F800000u ? 0x7FC0u : rounded);
  }
}

GB_KERNEL_CLONES void widenRows(const uint16_t* __restrict x, uint32_t* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = static_cast<uint32_t>(x[i]) << 16;
}

constexpr int64_t kGrain = 1 << 16;

inline uint16_t narrowOne(uint32_t u) {
  return static_cast<uint16_t>((u & 0x7FFFFFFFu) > 0x7F800000u ? 0x7FC0u : (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}
inline uint32_t widenOne(uint16_t h) { return static_cast<uint32_t>(h) << 16; }

// x [R, C] stored column-major (a transposed view: what a linear layer's weight gradient is) into a
// row-major out, in 64 x 64 tiles so both sides stay in the cache: contiguous() first would be a
// strided copy as slow as libtorch's cast.
template <class In, class Out, class F>
void castTransposed(const In* x, Out* out, int64_t R, int64_t C, F one) {
  constexpr int64_t T = 64;
  at::parallel_for(0, (R + T - 1) / T, 1, [&](int64_t b, int64_t e) {
    for (int64_t r0 = b * T; r0 < std::min(R, e * T); r0 += T)
      for (int64_t c0 = 0; c0 < C; c0 += T)
        for (int64_t r = r0; r < std::min(R, r0 + T); r++)
          for (int64_t c = c0; c < std::min(C, c0 + T); c++) out[r * C + c] = one(x[c * R + r]);
  });
}

at::Tensor castKernel(const at::Tensor& x, at::ScalarType to) {
  RECORD_FUNCTION("growbert::cast", std::vector<c10::IValue>());  // for `bench --profile`
  const bool transposed = x.dim() == 2 && x.size(0) > 1 && x.size(1) > 1 && x.stride(0) == 1 &&
                          x.stride(1) == x.size(0);
  at::Tensor src = transposed ? x : x.contiguous();
  at::Tensor out = at::empty(src.sizes(), src.options().dtype(to));
  const int64_t n = src.numel();
  if (to == at::kBFloat16) {
    auto* in = reinterpret_cast<const uint32_t*>(src.data_ptr<float>());
    auto* o = reinterpret_cast<uint16_t*>(out.data_ptr<at::BFloat16>());
    if (transposed) castTransposed(in, o, x.size(0), x.size(1), narrowOne);
    else at::parallel_for(0, n, kGrain, [&](int64_t b, int64_t e) { narrowRows(in + b, o + b, e - b); });
  } else {
    auto* in = reinterpret_cast<const uint16_t*>(src.data_ptr<at::BFloat16>());
    auto* o = reinterpret_cast<uint32_t*>(out.data_ptr<float>());
    if (transposed) castTransposed(in, o, x.size(0), x.size(1), widenOne);
    else at::parallel_for(0, n, kGrain, [&](int64_t b, int64_t e) { widenRows(in + b, o + b, e - b); });
  }
  return out;
}

struct FusedCast : public torch::autograd::Function<FusedCast> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, int64_t to) {
    ctx->saved_data["from"] = static_cast<int64_t>(x.scalar_type());
    return castKernel(x, static_cast<at::ScalarType>(to));
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list go) {
    const auto from = static_cast<at::ScalarType>(ctx->saved_data["from"].toInt());
    const at::Tensor& g = go[0];
    bool fast = g.device().is_cpu() && g.scalar_type() != from &&
                (g.scalar_type() == at::kFloat || g.scalar_type() == at::kBFloat16);
    return {fast ? castKernel(g, from) : g.to(from), at::Tensor()};
  }
};

}  // namespace

void registerFusedCast(Napi::Object exports) {
  // fusedCast(x, dtype): x (CPU float32 or bfloat16) in the other of the two; differentiable. Other
  // dtypes and devices are the caller's to route to libtorch's cast.
  GB_OP(exports, "fusedCast", {
    const at::Tensor& x = a.T(0);
    const at::ScalarType to = a.dtype(1);
    const bool pair = (x.scalar_type() == at::kFloat && to == at::kBFloat16) ||
                      (x.scalar_type() == at::kBFloat16 && to == at::kFloat);
    if (!x.device().is_cpu() || !pair) throw std::runtime_error("needs a CPU float32 <-> bfloat16 cast");
    if (x.requires_grad() && at::GradMode::is_enabled())
      return wrap(a.env(), FusedCast::apply(x, static_cast<int64_t>(to)));
    return wrap(a.env(), castKernel(x, to));
  });
}

}  // namespace gb
