// The masked-LM loss, cross entropy over the vocabulary at the masked positions, as one CPU kernel.
// libtorch 1.13 runs it as log_softmax, then nll_loss, and in backward a zero-filled gradient, a
// scatter, and log_softmax's backward: five passes over a [positions x vocab] matrix (37 MB on
// mini) and exp computed twice; `bench --profile` put it at 7.8% of an fp32 step. Here each row
// (30522 floats: it stays in the L2 cache) is read once for its maximum, once for exp and its sum,
// and its gradient, softmax minus the one-hot label over the row count, is written in that same
// forward; backward only scales it. Float32 and bfloat16 logits (bf16 rows are widened in a
// per-thread buffer); the loss is float32, the gradient has the logits' dtype. Rows whose label
// is ignoreIndex add nothing; the mean is over the others, NaN when there are none (as torch's).
#include "fused.h"

#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

// Built with -O3 -fno-math-errno -fno-trapping-math (scripts/build-native.mjs): the loops vectorize.

namespace gb {

namespace {

// exp(x) for x <= 0 (the row's maximum is subtracted first): Cody-Waite range reduction and the
// Cephes polynomial, relative error about 2e-7; branch-free, so loops that call it vectorize.
// Below -87 it returns exp(-87) ~ 1.6e-38 instead of a denormal: nothing a float sum would keep.
inline float expNonPositive(float x) {
  x = x > -87.0f ? x : -87.0f;
  const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;  // round to nearest: 1.5 x 2^23
  const float f = x - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * f + 1.3981999507e-3f;
  p = p * f + 8.3334519073e-3f;
  p = p * f + 4.1665795894e-2f;
  p = p * f + 1.6666665459e-1f;
  p = p * f + 5.0000001201e-1f;
  const float y = p * f * f + f + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return y * scale;
}

// Row passes (GB_KERNEL_CLONES: per-CPU variants). Sixteen partial results, so the reductions
// vectorize without reassociating one float sum.

// The row's maximum, or NaN when the row holds a NaN or an infinity (x * 0 is NaN for those only):
// the selects below would skip a NaN, and the loss must be NaN then, as libtorch's is.
GB_KERNEL_CLONES float rowMax(const float* __restrict x, int64_t n) {
  float acc[16], bad[16] = {0};
  for (float& a : acc) a = -std::numeric_limits<float>::infinity();
  int64_t j = 0;
  for (; j + 16 <= n; j += 16)
    for (int k = 0; k < 16; k++) {
      acc[k] = acc[k] > x[j + k] ? acc[k] : x[j + k];
      bad[k] += x[j + k] * 0.0f;
    }
  float m = acc[0], b = 0;
  for (int k = 1; k < 16; k++) m = m > acc[k] ? m : acc[k];
  for (int k = 0; k < 16; k++) b += bad[k];
  for (; j < n; j++) {
    m = m > x[j] ? m : x[j];
    b += x[j] * 0.0f;
  }
  return b == 0.0f ? m : std::numeric_limits<float>::quiet_NaN();
}

// e[j] = exp(x[j] - m); returns their sum.
GB_KERNEL_CLONES float expShiftSum(const float* __restrict x, float* __restrict e, int64_t n, float m) {
  float acc[16] = {0};
  int64_t j = 0;
  for (; j + 16 <= n; j += 16)
    for (int k = 0; k < 16; k++) {
      const float v = expNonPositive(x[j + k] - m);
      e[j + k] = v;
      acc[k] += v;
    }
  float s = 0;
  for (int k = 0; k < 16; k++) s += acc[k];
  for (; j < n; j++) {
    e[j] = expNonPositive(x[j] - m);
    s += e[j];
  }
  return s;
}

GB_KERNEL_CLONES void scaleInPlace(float* __restrict e, int64_t n, float s) {
  for (int64_t j = 0; j < n; j++) e[j] *= s;
}

GB_KERNEL_CLONES void widen(const uint16_t* __restrict x, float* __restrict out, int64_t n) {
  for (int64_t j = 0; j < n; j++) {
    const uint32_t bits = static_cast<uint32_t>(x[j]) << 16;
    std::memcpy(&out[j], &bits, sizeof(float));
  }
}

// out = bf16(e * s), rounded to nearest even as c10::BFloat16 rounds (the values are finite).
GB_KERNEL_CLONES void narrowScaled(const float* __restrict e, uint16_t* __restrict out, int64_t n, float s) {
  for (int64_t j = 0; j < n; j++) {
    const float v = e[j] * s;
    uint32_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    out[j] = static_cast<uint16_t>((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
  }
}

struct Result {
  at::Tensor loss;  // float32, 0-dim
  at::Tensor grad;  // shaped and typed as the logits; undefined unless asked for
};

Result crossEntropyRows(const at::Tensor& logitsIn, const at::Tensor& target, int64_t ignoreIndex, bool wantGrad) {
  if (!logitsIn.device().is_cpu() || logitsIn.dim() != 2)
    throw std::runtime_error("fusedCrossEntropy: needs CPU logits of shape [N, V]");
  const bool bf16 = logitsIn.scalar_type() == at::kBFloat16;
  if (!bf16 && logitsIn.scalar_type() != at::kFloat)
    throw std::runtime_error("fusedCrossEntropy: logits must be float32 or bfloat16");
  if (target.scalar_type() != at::kLong || target.dim() != 1 || target.size(0) != logitsIn.size(0))
    throw std::runtime_error("fusedCrossEntropy: target must be int64 of shape [N]");
  const at::Tensor logits = logitsIn.contiguous();
  const at::Tensor labels = target.to(at::kCPU).contiguous();
  const int64_t N = logits.size(0), V = logits.size(1);
  const int64_t* y = labels.data_ptr<int64_t>();
  int64_t count = 0;
  for (int64_t i = 0; i < N; i++) {
    if (y[i] == ignoreIndex) continue;
    if (y[i] < 0 || y[i] >= V)
      throw std::runtime_error("fusedCrossEntropy: label " + std::to_string(y[i]) + " is outside [0, " +
                               std::to_string(V) + ")");
    count++;
  }
  const float scale = count > 0 ? 1.0f / static_cast<float>(count) : 0.0f;
  at::Tensor grad = wantGrad ? at::empty_like(logits) : at::Tensor();
  std::vector<double> rowLoss(N, 0.0);
  at::parallel_for(0, N, 1, [&](int64_t lo, int64_t hi) {
    // a widened bf16 row, and the exps of a row whose gradient is not the float32 output
    std::vector<float> wide(bf16 ? static_cast<size_t>(V) : 0), buf(static_cast<size_t>(V));
    for (int64_t i = lo; i < hi; i++) {
      const bool skip = y[i] == ignoreIndex;
      if (skip && !wantGrad) continue;
      const float* x;
      if (bf16) {
        widen(reinterpret_cast<const uint16_t*>(logits.data_ptr<at::BFloat16>()) + i * V, wide.data(), V);
        x = wide.data();
      } else {
        x = logits.data_ptr<float>() + i * V;
      }
      if (skip) {  // no loss, no gradient
        if (bf16) std::memset(grad.data_ptr<at::BFloat16>() + i * V, 0, V * sizeof(uint16_t));
        else std::memset(grad.data_ptr<float>() + i * V, 0, V * sizeof(float));
        continue;
      }
      const float xy = x[y[i]];
      float* e = bf16 || !wantGrad ? buf.data() : grad.data_ptr<float>() + i * V;
      const float m = rowMax(x, V);
      if (std::isnan(m)) {  // a non-finite logit: NaN loss and gradient for the row
        rowLoss[i] = std::numeric_limits<double>::quiet_NaN();
        if (!wantGrad) continue;
        if (bf16) std::fill_n(reinterpret_cast<uint16_t*>(grad.data_ptr<at::BFloat16>()) + i * V, V, uint16_t{0x7FC0});
        else std::fill_n(grad.data_ptr<float>() + i * V, V, std::numeric_limits<float>::quiet_NaN());
        continue;
      }
      const float s = expShiftSum(x, e, V, m);
      rowLoss[i] = static_cast<double>(m) + std::log(static_cast<double>(s)) - xy;  // NaN/inf stay
      if (!wantGrad) continue;
      const float inv = scale / s;
      if (bf16) {
        const float ey = e[y[i]];
        auto* g = reinterpret_cast<uint16_t*>(grad.data_ptr<at::BFloat16>()) + i * V;
        narrowScaled(e, g, V, inv);
        const float gy = ey * inv - scale;
        g[y[i]] = c10::BFloat16(gy).x;
      } else {
        scaleInPlace(e, V, inv);
        e[y[i]] -= scale;
      }
    }
  });
  double total = 0;
  for (double l : rowLoss) total += l;
  const float loss = count > 0 ? static_cast<float>(total / count) : std::numeric_limits<float>::quiet_NaN();
  return {at::scalar_tensor(loss, at::TensorOptions().dtype(at::kFloat)), grad};
}

struct FusedCrossEntropy : public torch::autograd::Function<FusedCrossEntropy> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& logits, const at::Tensor& target,
                            int64_t ignoreIndex) {
    RECORD_FUNCTION("growbert::cross_entropy", std::vector<c10::IValue>());
    Result r = crossEntropyRows(logits, target, ignoreIndex, true);
    ctx->saved_data["grad"] = r.grad;
    return r.loss;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list go) {
    at::Tensor g = ctx->saved_data["grad"].toTensor();
    const at::Tensor& d = go[0];
    // The usual upstream gradient of a loss is exactly 1: the saved gradient is the answer.
    at::Tensor out = d.numel() == 1 && d.item<float>() == 1.0f ? g : g * d.to(g.scalar_type());
    return {out, at::Tensor(), at::Tensor()};
  }
};

}  // namespace

void registerFusedLoss(Napi::Object exports) {
  // fusedCrossEntropy(logits [N, V] float32|bf16 CPU, target int64 [N], ignoreIndex) -> mean loss
  // (float32, 0-dim), differentiable in the logits when they require grad.
  GB_OP(exports, "fusedCrossEntropy", {
    at::Tensor logits = a.T(0), target = a.T(1);
    const int64_t ignore = a.i64(2, -100);
    if (logits.requires_grad() && at::GradMode::is_enabled())
      return wrap(a.env(), FusedCrossEntropy::apply(logits, target, ignore));
    return wrap(a.env(), crossEntropyRows(logits, target, ignore, false).loss);
  });
}

}  // namespace gb
