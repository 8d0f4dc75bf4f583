// Tensor creation. Shapes are int arrays; dtype is a c10::ScalarType code; device a string.
// Random creators take an optional Generator (last argument); without one they use the global,
// manualSeed-seeded generator.
#include "common.h"

namespace gb {

void registerCreation(Napi::Object exports) {
  GB_OP(exports, "empty", { return wrap(a.env(), at::empty(a.ints(0), a.options(1, 2))); });
  GB_OP(exports, "zeros", { return wrap(a.env(), at::zeros(a.ints(0), a.options(1, 2))); });
  GB_OP(exports, "ones", { return wrap(a.env(), at::ones(a.ints(0), a.options(1, 2))); });
  GB_OP(exports, "full", { return wrap(a.env(), at::full(a.ints(0), a.scalar(1), a.options(2, 3))); });
  GB_OP(exports, "arange", { return wrap(a.env(), at::arange(a.scalar(0), a.scalar(1), a.scalar(2), a.options(3, 4))); });
  GB_OP(exports, "eye", { return wrap(a.env(), at::eye(a.i64(0), a.i64(1), a.options(2, 3))); });
  GB_OP(exports, "zerosLike", { return wrap(a.env(), at::zeros_like(a.T(0))); });
  GB_OP(exports, "onesLike", { return wrap(a.env(), at::ones_like(a.T(0))); });
  GB_OP(exports, "fullLike", { return wrap(a.env(), at::full_like(a.T(0), a.scalar(1))); });

  GB_OP(exports, "randn", { return wrap(a.env(), at::randn(a.ints(0), a.gen(3), a.options(1, 2))); });
  GB_OP(exports, "rand", { return wrap(a.env(), at::rand(a.ints(0), a.gen(3), a.options(1, 2))); });
  GB_OP(exports, "randint", {
    return wrap(a.env(), at::randint(a.i64(0), a.i64(1), a.ints(2), a.gen(5), a.options(3, 4).dtype(a.has(3) ? a.dtype(3) : at::kLong)));
  });
  GB_OP(exports, "randperm", {
    return wrap(a.env(), at::randperm(a.i64(0), a.gen(3), a.options(1, 2).dtype(a.has(1) ? a.dtype(1) : at::kLong)));
  });
  // bernoulli(probabilities) or bernoulli(tensor, p)
  GB_OP(exports, "bernoulli", {
    if (a.has(1)) return wrap(a.env(), at::bernoulli(a.T(0), a.num(1), a.gen(2)));
    return wrap(a.env(), at::bernoulli(a.T(0), a.gen(2)));
  });
  GB_OP(exports, "multinomial", { return wrap(a.env(), at::multinomial(a.T(0), a.i64(1), a.flag(2, false), a.gen(3))); });
}

}  // namespace gb
