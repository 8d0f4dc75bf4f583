// In-place ops for optimizers and initialisation, and their multi-tensor _foreach_ forms.
// In-place ops return nothing: the JS side keeps its handle, whose tensor changed.
#include "common.h"

namespace gb {

#define GB_DONE return a.env().Undefined();

void registerInplace(Napi::Object exports) {
  GB_OP(exports, "add_", {
    at::Scalar alpha = a.has(2) ? a.scalar(2) : at::Scalar(1);
    if (a.isTensor(1)) a.T(0).add_(a.T(1), alpha);
    else a.T(0).add_(a.scalar(1), alpha);
    GB_DONE
  });
  GB_OP(exports, "mul_", {
    if (a.isTensor(1)) a.T(0).mul_(a.T(1));
    else a.T(0).mul_(a.scalar(1));
    GB_DONE
  });
  GB_OP(exports, "div_", {
    if (a.isTensor(1)) a.T(0).div_(a.T(1));
    else a.T(0).div_(a.scalar(1));
    GB_DONE
  });
  GB_OP(exports, "addcmul_", { a.T(0).addcmul_(a.T(1), a.T(2), a.has(3) ? a.scalar(3) : at::Scalar(1)); GB_DONE });
  GB_OP(exports, "addcdiv_", { a.T(0).addcdiv_(a.T(1), a.T(2), a.has(3) ? a.scalar(3) : at::Scalar(1)); GB_DONE });
  GB_OP(exports, "copy_", { a.T(0).copy_(a.T(1)); GB_DONE });
  GB_OP(exports, "zero_", { a.T(0).zero_(); GB_DONE });
  GB_OP(exports, "fill_", { a.T(0).fill_(a.scalar(1)); GB_DONE });
  GB_OP(exports, "lerp_", {
    if (a.isTensor(2)) a.T(0).lerp_(a.T(1), a.T(2));
    else a.T(0).lerp_(a.T(1), a.scalar(2));
    GB_DONE
  });
  GB_OP(exports, "sqrt_", { a.T(0).sqrt_(); GB_DONE });
  GB_OP(exports, "clamp_", {
    c10::optional<at::Scalar> lo, hi;
    if (a.has(1)) lo = a.scalar(1);
    if (a.has(2)) hi = a.scalar(2);
    a.T(0).clamp_(lo, hi);
    GB_DONE
  });
  GB_OP(exports, "normal_", { a.T(0).normal_(a.num(1, 0.0), a.num(2, 1.0), a.gen(3)); GB_DONE });
  GB_OP(exports, "uniform_", { a.T(0).uniform_(a.num(1, 0.0), a.num(2, 1.0), a.gen(3)); GB_DONE });
  GB_OP(exports, "maskedFill_", { a.T(0).masked_fill_(boolMask(a.T(1)), a.scalar(2)); GB_DONE });
  GB_OP(exports, "indexCopy_", { a.T(0).index_copy_(a.i64(1), a.T(2), a.T(3)); GB_DONE });
  // Replace the handle's tensor with `other` (same handle, new storage): used to swap data in.
  GB_OP(exports, "set_", { a.T(0).set_(a.T(1)); a.W(0)->resync(a.env()); GB_DONE });

  // Multi-tensor forms: one native call for a whole parameter list.
  GB_OP(exports, "foreachAdd_", {
    auto xs = a.list(0);
    if (a.size() > 1 && a.info[1].IsArray()) at::_foreach_add_(xs, a.list(1), a.has(2) ? a.scalar(2) : at::Scalar(1));
    else at::_foreach_add_(xs, a.scalar(1));
    GB_DONE
  });
  GB_OP(exports, "foreachMul_", {
    auto xs = a.list(0);
    if (a.size() > 1 && a.info[1].IsArray()) at::_foreach_mul_(xs, a.list(1));
    else at::_foreach_mul_(xs, a.scalar(1));
    GB_DONE
  });
  GB_OP(exports, "foreachDiv_", {
    auto xs = a.list(0);
    if (a.size() > 1 && a.info[1].IsArray()) at::_foreach_div_(xs, a.list(1));
    else at::_foreach_div_(xs, a.scalar(1));
    GB_DONE
  });
  GB_OP(exports, "foreachAddcmul_", { at::_foreach_addcmul_(a.list(0), a.list(1), a.list(2), a.has(3) ? a.scalar(3) : at::Scalar(1)); GB_DONE });
  GB_OP(exports, "foreachAddcdiv_", { at::_foreach_addcdiv_(a.list(0), a.list(1), a.list(2), a.has(3) ? a.scalar(3) : at::Scalar(1)); GB_DONE });
  GB_OP(exports, "foreachLerp_", {
    auto xs = a.list(0);
    auto ends = a.list(1);
    at::Scalar w = a.scalar(2);
#if GB_TORCH_AT_LEAST(2, 0)
    at::_foreach_lerp_(xs, ends, w);
#else
    for (size_t i = 0; i < xs.size(); i++) xs[i].lerp_(ends[i], w);
#endif
    GB_DONE
  });
  GB_OP(exports, "foreachZero_", { at::_foreach_zero_(a.list(0)); GB_DONE });
  GB_OP(exports, "foreachCopy_", {
    auto xs = a.list(0);
    auto ys = a.list(1);
    if (xs.size() != ys.size()) throw std::runtime_error("lists differ in length");
    for (size_t i = 0; i < xs.size(); i++) xs[i].copy_(ys[i]);
    GB_DONE
  });
  GB_OP(exports, "foreachSqrt", { return wrapList(a.env(), at::_foreach_sqrt(a.list(0))); });
  GB_OP(exports, "foreachNorm", { return wrapList(a.env(), at::_foreach_norm(a.list(0), a.has(1) ? a.scalar(1) : at::Scalar(2))); });
  GB_OP(exports, "foreachClone", {
    auto xs = a.list(0);
    std::vector<at::Tensor> out;
    out.reserve(xs.size());
    for (auto& x : xs) out.push_back(x.clone());
    return wrapList(a.env(), out);
  });
}

}  // namespace gb
