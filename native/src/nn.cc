// Neural-network ops: activations, normalization, dropout, embedding, losses, attention.
#include "common.h"
#include "fused.h"

namespace gb {

// Attention as explicit math: the fallback where libtorch has no scaled_dot_product_attention
// (1.13). mask: bool (true = attend) or additive float, broadcastable to [..., Lq, Lk].
static at::Tensor sdpaMath(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                           const c10::optional<at::Tensor>& mask, double dropoutP, bool causal,
                           double scale) {
  at::Tensor scores = at::matmul(q, k.transpose(-2, -1)).mul(scale);
  if (causal) {
    int64_t lq = q.size(-2), lk = k.size(-2);
    at::Tensor keep = at::ones({lq, lk}, q.options().dtype(at::kBool)).tril();
    scores = scores.masked_fill(keep.logical_not(), -std::numeric_limits<double>::infinity());
  }
  if (mask.has_value()) {
    if (mask->scalar_type() == at::kBool)
      scores = scores.masked_fill(mask->logical_not(), -std::numeric_limits<double>::infinity());
    else
      scores = scores.add(*mask);
  }
  at::Tensor p = at::softmax(scores, -1);
  // On the CPU the fast counter-based mask (fused.cc); bernoulli_ took most of attention's time.
  if (dropoutP > 0) p = p.device().is_cpu() ? p.mul(dropoutMask(p, dropoutP)).to(p.scalar_type()) : at::dropout(p, dropoutP, true);
  return at::matmul(p, v);
}

void registerNN(Napi::Object exports) {
  GB_OP(exports, "softmax", {
    c10::optional<at::ScalarType> dt;
    if (a.has(2)) dt = a.dtype(2);
    return wrap(a.env(), at::softmax(a.T(0), a.i64(1), dt));
  });
  GB_OP(exports, "logSoftmax", {
    c10::optional<at::ScalarType> dt;
    if (a.has(2)) dt = a.dtype(2);
    return wrap(a.env(), at::log_softmax(a.T(0), a.i64(1), dt));
  });
  // layerNorm(x, normalizedShape, weight?, bias?, eps)
  GB_OP(exports, "layerNorm", {
    return wrap(a.env(), at::layer_norm(a.T(0), a.ints(1), a.optT(2), a.optT(3), a.num(4, 1e-5)));
  });
  GB_OP(exports, "gelu", { return wrap(a.env(), at::gelu(a.T(0), a.flag(1, false) ? "tanh" : "none")); });
  GB_OP(exports, "dropout", { return wrap(a.env(), at::dropout(a.T(0), a.num(1), a.flag(2, true))); });
  // embedding(weight, indices, paddingIdx = -1)
  GB_OP(exports, "embedding", {
    at::Tensor& w = a.T(0);
    at::Tensor& idx = a.T(1);
    // Bounds are checked here so a bad id is a clear error on every device, never a device assert.
    if (idx.numel() > 0) {
      int64_t lo = idx.min().item<int64_t>(), hi = idx.max().item<int64_t>();
      if (lo < 0 || hi >= w.size(0))
        throw std::runtime_error("index out of range: ids span [" + std::to_string(lo) + ", " + std::to_string(hi) + "] but the table has " + std::to_string(w.size(0)) + " rows");
    }
    return wrap(a.env(), at::embedding(w, idx, a.i64(2, -1)));
  });
  // crossEntropy(logits [N, C], target [N], reduction 0 none | 1 mean | 2 sum, ignoreIndex, labelSmoothing, weight?)
  GB_OP(exports, "crossEntropy", {
    return wrap(a.env(), at::cross_entropy_loss(a.T(0), a.T(1), a.optT(5), a.i64(2, 1), a.i64(3, -100), a.num(4, 0.0)));
  });
  GB_OP(exports, "nllLoss", {
    return wrap(a.env(), at::nll_loss(a.T(0), a.T(1), a.optT(4), a.i64(2, 1), a.i64(3, -100)));
  });
  GB_OP(exports, "mseLoss", { return wrap(a.env(), at::mse_loss(a.T(0), a.T(1), a.i64(2, 1))); });
  // scaledDotProductAttention(q, k, v, mask?, dropoutP, isCausal, scale?)
  GB_OP(exports, "scaledDotProductAttention", {
    at::Tensor& q = a.T(0);
    double scale = a.has(6) ? a.num(6) : 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
    double p = a.num(4, 0.0);
    bool causal = a.flag(5, false);
#if GB_TORCH_AT_LEAST(2, 1)
    return wrap(a.env(), at::scaled_dot_product_attention(q, a.T(1), a.T(2), a.optT(3), p, causal, scale));
#else
    return wrap(a.env(), sdpaMath(q, a.T(1), a.T(2), a.optT(3), p, causal, scale));
#endif
  });
  GB_OP(exports, "sdpaMath", {
    at::Tensor& q = a.T(0);
    double scale = a.has(6) ? a.num(6) : 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
    return wrap(a.env(), sdpaMath(q, a.T(1), a.T(2), a.optT(3), a.num(4, 0.0), a.flag(5, false), scale));
  });
}

}  // namespace gb
