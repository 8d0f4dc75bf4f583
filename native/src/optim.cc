// A training step's per-parameter work in one native call each, instead of one call per parameter
// from JavaScript (`bench --profile` counted 4 calls per parameter per step: reading each gradient
// twice, clearing it, updating it). The ops take the parameters and reach their gradients here:
// - gradsOf: every parameter's gradient (or null), for optimizers that still work in JavaScript;
// - clearGrads: drops every gradient (as `p.grad = null` on each);
// - clipGradNorm_: the global L2 norm by one _foreach_norm, and the scaling by one _foreach_mul_;
// - adamwStep_: one AdamW update of a parameter group: growbert's one-pass kernel on contiguous CPU
//   float32 (fused.cc), else libtorch's _fused_adamw_ (2.4+ on any device, CUDA on 2.1+), else the
//   multi-tensor form of _foreach_ ops (libtorch 1.13).
// All of them are mechanical sequences of libtorch calls; the math's reference is
// src/train/optim/adamw.ts and PyTorch's clip_grad_norm_.
#include "fused.h"

#include <ATen/record_function.h>
#include <c10/core/GradMode.h>

#include <cmath>

namespace gb {

namespace {

struct AdamHyper {
  double lr, b1, b2, eps, wd, bc1, bc2;
  int64_t step;      // the group's step count when bias correction is on, else 0 (no libtorch kernel then)
  std::string impl;  // auto | growbert | torch | foreach
};

AdamHyper adamHyper(const Args& a, size_t i) {
  Napi::Object h = a.info[i].As<Napi::Object>();
  auto get = [&](const char* k) {
    Napi::Value v = h.Get(k);
    if (!v.IsNumber()) throw std::runtime_error(std::string("option ") + k + " must be a number");
    return v.As<Napi::Number>().DoubleValue();
  };
  Napi::Value impl = h.Get("impl");
  Napi::Value step = h.Get("step");
  return {get("lr"), get("beta1"), get("beta2"), get("eps"), get("weightDecay"), get("bc1"), get("bc2"),
          step.IsNumber() ? static_cast<int64_t>(step.As<Napi::Number>().DoubleValue()) : 0,
          impl.IsString() ? impl.As<Napi::String>().Utf8Value() : std::string("auto")};
}

bool torchFusedAvailable(const at::Tensor& p) {
#if GB_TORCH_AT_LEAST(2, 4)
  (void)p;
  return true;
#elif GB_TORCH_AT_LEAST(2, 1)
  return p.is_cuda();
#else
  (void)p;
  return false;
#endif
}

void adamwTorch(std::vector<at::Tensor>& ps, std::vector<at::Tensor>& gs, std::vector<at::Tensor>& ms,
                std::vector<at::Tensor>& vs, const AdamHyper& h) {
#if GB_TORCH_AT_LEAST(2, 1)
  // The kernel reads each parameter's step count (float, on its device) for the bias correction.
  at::Tensor step = at::full({}, static_cast<double>(h.step), ps[0].options().dtype(at::kFloat));
  std::vector<at::Tensor> steps(ps.size(), step);
  at::_fused_adamw_(ps, gs, ms, vs, {}, steps, h.lr, h.b1, h.b2, h.wd, h.eps, false, false);
#else
  (void)ps, (void)gs, (void)ms, (void)vs, (void)h;
  throw std::runtime_error("libtorch's _fused_adamw_ needs libtorch 2.1+");
#endif
}

// The multi-tensor form, op for op as src/train/optim/adamw.ts wrote it before this file.
void adamwForeach(std::vector<at::Tensor>& ps, std::vector<at::Tensor>& gs, std::vector<at::Tensor>& ms,
                  std::vector<at::Tensor>& vs, const AdamHyper& h) {
  if (h.wd > 0) at::_foreach_mul_(ps, at::Scalar(1 - h.lr * h.wd));
  at::_foreach_mul_(ms, at::Scalar(h.b1));
  at::_foreach_add_(ms, gs, at::Scalar(1 - h.b1));
  at::_foreach_mul_(vs, at::Scalar(h.b2));
  at::_foreach_addcmul_(vs, gs, gs, at::Scalar(1 - h.b2));
  std::vector<at::Tensor> denom = at::_foreach_sqrt(vs);
  at::_foreach_div_(denom, at::Scalar(std::sqrt(h.bc2)));
  at::_foreach_add_(denom, at::Scalar(h.eps));
  at::_foreach_addcdiv_(ps, ms, denom, at::Scalar(-h.lr / h.bc1));
}

bool allFusable(const std::vector<at::Tensor>& ts) {
  for (const auto& t : ts)
    if (!adamwFusable(t)) return false;
  return true;
}

}  // namespace

void registerOptim(Napi::Object exports) {
  // gradsOf(params) -> the gradient of each (a handle on the same memory), or null.
  GB_OP(exports, "gradsOf", {
    auto ps = a.list(0);
    Napi::Array out = Napi::Array::New(a.env(), ps.size());
    for (size_t i = 0; i < ps.size(); i++) {
      const at::Tensor& g = ps[i].grad();
      out.Set(i, g.defined() ? wrap(a.env(), g) : a.env().Null());
    }
    return out;
  });
  // clearGrads(params): every gradient dropped (backward then writes fresh ones).
  GB_OP(exports, "clearGrads", {
    for (auto& p : a.list(0)) p.mutable_grad().reset();
    return a.env().Undefined();
  });
  // clipGradNorm_(params, maxNorm) -> the global L2 norm of the gradients before clipping; scales
  // them by maxNorm / (norm + 1e-6) when the norm is finite and above maxNorm. 0 without gradients.
  GB_OP(exports, "clipGradNorm_", {
    RECORD_FUNCTION("growbert::clip_grad_norm", std::vector<c10::IValue>());  // for `bench --profile`
    std::vector<at::Tensor> gs;
    for (auto& p : a.list(0))
      if (p.grad().defined()) gs.push_back(p.grad());
    if (gs.empty()) return Napi::Number::New(a.env(), 0.0);
    c10::AutoGradMode noGrad(false);
    std::vector<at::Tensor> norms = at::_foreach_norm(gs, at::Scalar(2));
    double total = (norms.size() == 1 ? norms[0] : at::stack(norms).norm()).item<double>();
    double maxNorm = a.num(1);
    if (std::isfinite(total) && total > maxNorm) at::_foreach_mul_(gs, at::Scalar(maxNorm / (total + 1e-6)));
    return Napi::Number::New(a.env(), total);
  });
  // adamwStep_(params, expAvg, expAvgSq, hyper) -> indices of the parameters skipped (no gradient).
  // hyper: { lr, beta1, beta2, eps, weightDecay, bc1, bc2, step?, impl? } (see AdamHyper).
  GB_OP(exports, "adamwStep_", {
    RECORD_FUNCTION("growbert::adamw_step", std::vector<c10::IValue>());  // for `bench --profile`
    auto all = a.list(0), allM = a.list(1), allV = a.list(2);
    if (allM.size() != all.size() || allV.size() != all.size()) throw std::runtime_error("lists differ in length");
    AdamHyper h = adamHyper(a, 3);
    std::vector<at::Tensor> ps, gs, ms, vs;
    Napi::Array skipped = Napi::Array::New(a.env());
    for (size_t i = 0; i < all.size(); i++) {
      const at::Tensor& g = all[i].grad();
      if (!g.defined()) {
        skipped.Set(skipped.Length(), Napi::Number::New(a.env(), static_cast<double>(i)));
        continue;
      }
      if (allM[i].sizes() != all[i].sizes() || allV[i].sizes() != all[i].sizes()) throw std::runtime_error("a state's shape differs from its parameter's");
      ps.push_back(all[i]), gs.push_back(g), ms.push_back(allM[i]), vs.push_back(allV[i]);
    }
    if (ps.empty()) return skipped;
    c10::AutoGradMode noGrad(false);
    std::string impl = h.impl;
    if (impl == "auto") {
      bool ours = allFusable(ps) && allFusable(gs) && allFusable(ms) && allFusable(vs);
      impl = ours ? "growbert" : (h.step > 0 && torchFusedAvailable(ps[0]) ? "torch" : "foreach");
    }
    if (impl == "growbert") adamwFused(ps, gs, ms, vs, h.lr, h.b1, h.b2, h.eps, h.wd, h.bc1, h.bc2);
    else if (impl == "torch") {
      if (h.step <= 0) throw std::runtime_error("impl 'torch' needs the step count (bias correction on)");
      adamwTorch(ps, gs, ms, vs, h);
    } else if (impl == "foreach") adamwForeach(ps, gs, ms, vs, h);
    else throw std::runtime_error("impl must be auto, growbert, torch or foreach, got " + impl);
    return skipped;
  });
}

}  // namespace gb
