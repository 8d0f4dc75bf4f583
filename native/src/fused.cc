// Fused CPU kernels where `growbert bench --profile` showed libtorch 1.13's generic ops spending
// a training step's time on memory passes and random numbers rather than on the math:
// - adamwFused_: the whole AdamW update in one pass over each parameter (the multi-tensor form
//   makes eight passes, each reading and writing every optimizer state);
// - dropoutMask: dropout's keep/scale mask from a counter-based hash (splitmix64) seeded by the
//   global CPU generator, instead of bernoulli_, which draws one Mersenne-twister number per
//   element. Deterministic for a seed whatever the thread count; the keep probability is
//   resolved to 1/65536.
// Both are CPU float kernels; callers fall back to the generic ops elsewhere (CUDA, other dtypes).
#include "fused.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/record_function.h>

#include <cmath>
#include <mutex>

namespace gb {

namespace {

inline uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// One parameter's update, as PyTorch's AdamW (decoupled decay first), element by element in the
// order the multi-tensor ops use: p *= 1 - lr wd; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g g;
// p += -(lr / bc1) m / (sqrt(v) / sqrt(bc2) + eps). Compiled for AVX-512, AVX2 and plain x86-64
// (chosen at load time), with the kernel flags of scripts/build-native.mjs, where its sqrt and
// division vectorize.
GB_KERNEL_CLONES void adamwRange(
    float* __restrict P, const float* __restrict G, float* __restrict M, float* __restrict V, int64_t lo, int64_t hi,
    float decay, float b1, float b2, float sqrtBc2, float eps, float stepSize) {
  const float c1 = 1.0f - b1, c2 = 1.0f - b2;
  for (int64_t i = lo; i < hi; i++) {
    const float gi = G[i];
    const float mi = M[i] * b1 + c1 * gi;
    const float vi = V[i] * b2 + c2 * gi * gi;
    M[i] = mi;
    V[i] = vi;
    const float denom = std::sqrt(vi) / sqrtBc2 + eps;
    P[i] = P[i] * decay + stepSize * (mi / denom);
  }
}

void adamwOne(at::Tensor& p, const at::Tensor& g, at::Tensor& m, at::Tensor& v, float decay, float b1, float b2,
              float sqrtBc2, float eps, float stepSize) {
  float* P = p.data_ptr<float>();
  const float* G = g.data_ptr<float>();
  float* M = m.data_ptr<float>();
  float* V = v.data_ptr<float>();
  at::parallel_for(0, p.numel(), 1 << 14, [&](int64_t lo, int64_t hi) {
    adamwRange(P, G, M, V, lo, hi, decay, b1, b2, sqrtBc2, eps, stepSize);
  });
}

}  // namespace

bool adamwFusable(const at::Tensor& t) {
  return t.device().is_cpu() && t.scalar_type() == at::kFloat && t.is_contiguous();
}

void adamwFused(std::vector<at::Tensor>& ps, const std::vector<at::Tensor>& gs, std::vector<at::Tensor>& ms,
                std::vector<at::Tensor>& vs, double lr, double b1, double b2, double eps, double wd, double bc1, double bc2) {
  for (size_t i = 0; i < ps.size(); i++) {
    for (const at::Tensor* t : std::initializer_list<const at::Tensor*>{&ps[i], &gs[i], &ms[i], &vs[i]}) {
      if (!adamwFusable(*t) || t->numel() != ps[i].numel()) throw std::runtime_error("adamwFused_: needs contiguous CPU float32 tensors of equal size");
    }
    adamwOne(ps[i], gs[i], ms[i], vs[i], static_cast<float>(1.0 - lr * wd), static_cast<float>(b1), static_cast<float>(b2),
             static_cast<float>(std::sqrt(bc2)), static_cast<float>(eps), static_cast<float>(-lr / bc1));
  }
}

at::Tensor dropoutMask(const at::Tensor& x, double p) {
  // Recorded here, not only by the op of the same name: attention (nn.cc) calls it directly, and
  // `bench --profile` counted its time as the host's.
  RECORD_FUNCTION("growbert::dropout_mask", std::vector<c10::IValue>());
  if (!x.device().is_cpu()) throw std::runtime_error("dropoutMask: needs a CPU tensor");
  if (!(p >= 0 && p < 1)) throw std::runtime_error("dropoutMask: p must be in [0, 1)");
  uint64_t seed;
  {
    at::Generator g = at::globalContext().defaultGenerator(c10::Device(c10::kCPU));
    std::lock_guard<std::mutex> lock(g.mutex());
    seed = at::check_generator<at::CPUGeneratorImpl>(g)->random64();
  }
  const uint32_t drop = static_cast<uint32_t>(std::lround(p * 65536.0));  // 16-bit draws below this are dropped
  const float scale = static_cast<float>(1.0 / (1.0 - p));
  at::Tensor mask = at::empty(x.sizes(), x.options().dtype(at::kFloat).memory_format(at::MemoryFormat::Contiguous));
  float* out = mask.data_ptr<float>();
  const int64_t n = mask.numel();
  // Four 16-bit draws per hash; block b covers elements 4b .. 4b+3.
  at::parallel_for(0, (n + 3) / 4, 1 << 12, [&](int64_t lo, int64_t hi) {
    for (int64_t b = lo; b < hi; b++) {
      uint64_t h = splitmix64(seed ^ (static_cast<uint64_t>(b) * 0xD1B54A32D192ED03ull));
      for (int k = 0; k < 4 && 4 * b + k < n; k++) out[4 * b + k] = ((h >> (16 * k)) & 0xFFFF) < drop ? 0.0f : scale;
    }
  });
  return mask;
}

void registerFused(Napi::Object exports) {
  // adamwFused_(params, grads, expAvg, expAvgSq, { lr, beta1, beta2, eps, weightDecay, bc1, bc2 }):
  // in place; every tensor a contiguous CPU float32 one (check with fusedApplies first).
  GB_OP(exports, "adamwFused_", {
    RECORD_FUNCTION("growbert::adamw_fused", std::vector<c10::IValue>());  // for `bench --profile`
    auto ps = a.list(0), gs = a.list(1), ms = a.list(2), vs = a.list(3);
    if (gs.size() != ps.size() || ms.size() != ps.size() || vs.size() != ps.size()) throw std::runtime_error("lists differ in length");
    Napi::Object h = a.info[4].As<Napi::Object>();
    auto get = [&](const char* k) {
      Napi::Value v = h.Get(k);
      if (!v.IsNumber()) throw std::runtime_error(std::string("adamwFused_: option ") + k + " must be a number");
      return v.As<Napi::Number>().DoubleValue();
    };
    double lr = get("lr"), b1 = get("beta1"), b2 = get("beta2"), eps = get("eps"), wd = get("weightDecay"), bc1 = get("bc1"), bc2 = get("bc2");
    adamwFused(ps, gs, ms, vs, lr, b1, b2, eps, wd, bc1, bc2);
    return a.env().Undefined();
  });
  // fusedApplies(tensors): whether every tensor is a contiguous CPU float32 one.
  GB_OP(exports, "fusedApplies", {
    for (const auto& t : a.list(0)) if (!adamwFusable(t)) return Napi::Boolean::New(a.env(), false);
    return Napi::Boolean::New(a.env(), true);
  });
  // dropoutMask(x, p) -> float32 mask shaped as x (see dropoutMask in fused.h).
  GB_OP(exports, "dropoutMask", {
    return wrap(a.env(), dropoutMask(a.T(0), a.num(1)));
  });
}

}  // namespace gb
