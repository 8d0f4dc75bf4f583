// Shape, layout, indexing and conversion ops. Views share storage with their source, as in
// PyTorch; the JS side still owns each returned handle separately.
#include "common.h"

namespace gb {

void registerShape(Napi::Object exports) {
  GB_OP(exports, "reshape", { return wrap(a.env(), a.T(0).reshape(a.ints(1))); });
  GB_OP(exports, "view", { return wrap(a.env(), a.T(0).view(a.ints(1))); });
  GB_OP(exports, "transpose", { return wrap(a.env(), a.T(0).transpose(a.i64(1), a.i64(2))); });
  GB_OP(exports, "permute", { return wrap(a.env(), a.T(0).permute(a.ints(1))); });
  GB_OP(exports, "contiguous", { return wrap(a.env(), a.T(0).contiguous()); });
  GB_OP(exports, "narrow", { return wrap(a.env(), a.T(0).narrow(a.i64(1), a.i64(2), a.i64(3))); });
  GB_OP(exports, "slice", {
    c10::optional<int64_t> start, end;
    if (a.has(2)) start = a.i64(2);
    if (a.has(3)) end = a.i64(3);
    return wrap(a.env(), a.T(0).slice(a.i64(1), start, end, a.i64(4, 1)));
  });
  GB_OP(exports, "select", { return wrap(a.env(), a.T(0).select(a.i64(1), a.i64(2))); });
  GB_OP(exports, "cat", { return wrap(a.env(), at::cat(a.list(0), a.i64(1, 0))); });
  GB_OP(exports, "stack", { return wrap(a.env(), at::stack(a.list(0), a.i64(1, 0))); });
  GB_OP(exports, "split", { return wrapList(a.env(), a.T(0).split(a.i64(1), a.i64(2, 0))); });
  GB_OP(exports, "splitSizes", { return wrapList(a.env(), a.T(0).split_with_sizes(a.ints(1), a.i64(2, 0))); });
  GB_OP(exports, "chunk", { return wrapList(a.env(), a.T(0).chunk(a.i64(1), a.i64(2, 0))); });
  GB_OP(exports, "indexSelect", { return wrap(a.env(), a.T(0).index_select(a.i64(1), a.T(2))); });
  GB_OP(exports, "gather", { return wrap(a.env(), a.T(0).gather(a.i64(1), a.T(2))); });
  GB_OP(exports, "scatter", {
    if (a.isTensor(3)) return wrap(a.env(), a.T(0).scatter(a.i64(1), a.T(2), a.T(3)));
    return wrap(a.env(), a.T(0).scatter(a.i64(1), a.T(2), a.scalar(3)));
  });
  GB_OP(exports, "scatterAdd", { return wrap(a.env(), a.T(0).scatter_add(a.i64(1), a.T(2), a.T(3))); });
  GB_OP(exports, "indexAdd", { return wrap(a.env(), a.T(0).index_add(a.i64(1), a.T(2), a.T(3))); });
  GB_OP(exports, "maskedSelect", { return wrap(a.env(), a.T(0).masked_select(boolMask(a.T(1)))); });
  GB_OP(exports, "maskedFill", {
    if (a.isTensor(2)) return wrap(a.env(), a.T(0).masked_fill(boolMask(a.T(1)), a.T(2)));
    return wrap(a.env(), a.T(0).masked_fill(boolMask(a.T(1)), a.scalar(2)));
  });
  GB_OP(exports, "nonzero", { return wrap(a.env(), a.T(0).nonzero()); });
  GB_OP(exports, "repeat", { return wrap(a.env(), a.T(0).repeat(a.ints(1))); });
  GB_OP(exports, "repeatInterleave", { return wrap(a.env(), a.T(0).repeat_interleave(a.i64(1), a.i64(2, 0))); });
  GB_OP(exports, "expand", { return wrap(a.env(), a.T(0).expand(a.ints(1))); });
  GB_OP(exports, "squeeze", {
    if (a.has(1)) return wrap(a.env(), a.T(0).squeeze(a.i64(1)));
    return wrap(a.env(), a.T(0).squeeze());
  });
  GB_OP(exports, "unsqueeze", { return wrap(a.env(), a.T(0).unsqueeze(a.i64(1))); });
  GB_OP(exports, "flatten", { return wrap(a.env(), a.T(0).flatten(a.i64(1, 0), a.i64(2, -1))); });
  GB_OP(exports, "flip", { return wrap(a.env(), a.T(0).flip(a.ints(1))); });
  GB_OP(exports, "tril", { return wrap(a.env(), a.T(0).tril(a.i64(1, 0))); });
  GB_OP(exports, "triu", { return wrap(a.env(), a.T(0).triu(a.i64(1, 0))); });
  GB_OP(exports, "clone", { return wrap(a.env(), a.T(0).clone()); });
  GB_OP(exports, "detach", { return wrap(a.env(), a.T(0).detach()); });
  GB_OP(exports, "toDtype", { return wrap(a.env(), a.T(0).to(a.dtype(1))); });
  GB_OP(exports, "toDevice", { return wrap(a.env(), a.T(0).to(a.device(1), a.flag(2, false))); });
  GB_OP(exports, "sort", {
    auto r = a.T(0).sort(a.i64(1, -1), a.flag(2, false));
    return wrapList(a.env(), {std::get<0>(r), std::get<1>(r)});
  });
  GB_OP(exports, "argsort", { return wrap(a.env(), a.T(0).argsort(a.i64(1, -1), a.flag(2, false))); });
  GB_OP(exports, "topk", {
    auto r = a.T(0).topk(a.i64(1), a.i64(2, -1), a.flag(3, true), true);
    return wrapList(a.env(), {std::get<0>(r), std::get<1>(r)});
  });
  GB_OP(exports, "oneHot", { return wrap(a.env(), at::one_hot(a.T(0), a.i64(1, -1))); });
  GB_OP(exports, "bincount", { return wrap(a.env(), at::bincount(a.T(0), c10::nullopt, a.i64(1, 0))); });
  GB_OP(exports, "equal", { return Napi::Boolean::New(a.env(), a.T(0).equal(a.T(1))); });
  GB_OP(exports, "allclose", { return Napi::Boolean::New(a.env(), a.T(0).allclose(a.T(1), a.num(2, 1e-5), a.num(3, 1e-8))); });
}

}  // namespace gb
