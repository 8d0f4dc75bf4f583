// Elementwise math (broadcasting), comparisons, reductions and linear algebra.
#include "common.h"

namespace gb {

// Binary op whose second operand is a Tensor or a JS number.
#define GB_BINARY(js, fn)                                                 \
  GB_OP(exports, js, {                                                    \
    if (a.isTensor(1)) return wrap(a.env(), at::fn(a.T(0), a.T(1)));      \
    return wrap(a.env(), at::fn(a.T(0), a.scalar(1)));                    \
  })
#define GB_UNARY(js, fn) GB_OP(exports, js, { return wrap(a.env(), at::fn(a.T(0))); })

static c10::optional<at::ScalarType> optDtype(const Args& a, size_t i) {
  if (!a.has(i)) return c10::nullopt;
  return a.dtype(i);
}

void registerMath(Napi::Object exports) {
  GB_OP(exports, "add", {
    at::Scalar alpha = a.has(2) ? a.scalar(2) : at::Scalar(1);
    if (a.isTensor(1)) return wrap(a.env(), at::add(a.T(0), a.T(1), alpha));
    return wrap(a.env(), at::add(a.T(0), a.scalar(1), alpha));
  });
  GB_OP(exports, "sub", {
    at::Scalar alpha = a.has(2) ? a.scalar(2) : at::Scalar(1);
    if (a.isTensor(1)) return wrap(a.env(), at::sub(a.T(0), a.T(1), alpha));
    return wrap(a.env(), at::sub(a.T(0), a.scalar(1), alpha));
  });
  GB_OP(exports, "rsub", { return wrap(a.env(), at::rsub(a.T(0), a.scalar(1))); });
  GB_BINARY("mul", mul);
  GB_BINARY("div", div);
  GB_BINARY("remainder", remainder);
  GB_BINARY("eq", eq);
  GB_BINARY("ne", ne);
  GB_BINARY("lt", lt);
  GB_BINARY("le", le);
  GB_BINARY("gt", gt);
  GB_BINARY("ge", ge);
  GB_OP(exports, "pow", {
    if (a.isTensor(1)) return wrap(a.env(), at::pow(a.T(0), a.T(1)));
    return wrap(a.env(), at::pow(a.T(0), a.scalar(1)));
  });
  GB_OP(exports, "maximum", { return wrap(a.env(), at::maximum(a.T(0), a.T(1))); });
  GB_OP(exports, "minimum", { return wrap(a.env(), at::minimum(a.T(0), a.T(1))); });
  GB_OP(exports, "logicalAnd", { return wrap(a.env(), at::logical_and(a.T(0), a.T(1))); });
  GB_OP(exports, "logicalOr", { return wrap(a.env(), at::logical_or(a.T(0), a.T(1))); });
  GB_OP(exports, "logicalNot", { return wrap(a.env(), at::logical_not(a.T(0))); });
  GB_OP(exports, "where", {
    at::Tensor& c = a.T(0);
    if (a.isTensor(1) && a.isTensor(2)) return wrap(a.env(), at::where(c, a.T(1), a.T(2)));
    if (a.isTensor(1)) return wrap(a.env(), at::where(c, a.T(1), a.scalar(2)));
    if (a.isTensor(2)) return wrap(a.env(), at::where(c, a.scalar(1), a.T(2)));
    return wrap(a.env(), at::where(c, a.scalar(1), a.scalar(2)));
  });
  GB_OP(exports, "clamp", {
    c10::optional<at::Scalar> lo, hi;
    if (a.has(1)) lo = a.scalar(1);
    if (a.has(2)) hi = a.scalar(2);
    return wrap(a.env(), at::clamp(a.T(0), lo, hi));
  });
  GB_UNARY("neg", neg);
  GB_UNARY("abs", abs);
  GB_UNARY("exp", exp);
  GB_UNARY("log", log);
  GB_UNARY("log1p", log1p);
  GB_UNARY("sqrt", sqrt);
  GB_UNARY("rsqrt", rsqrt);
  GB_UNARY("tanh", tanh);
  GB_UNARY("sigmoid", sigmoid);
  GB_UNARY("relu", relu);
  GB_UNARY("erf", erf);
  GB_UNARY("sin", sin);
  GB_UNARY("cos", cos);
  GB_UNARY("reciprocal", reciprocal);
  GB_UNARY("sign", sign);
  GB_UNARY("floor", floor);
  GB_UNARY("ceil", ceil);
  GB_UNARY("round", round);
  GB_UNARY("isnan", isnan);
  GB_UNARY("isfinite", isfinite);

  // Reductions: (t, dims?, keepdim?, dtype?). Without dims they reduce everything.
  GB_OP(exports, "sum", {
    if (!a.has(1)) return wrap(a.env(), at::sum(a.T(0), optDtype(a, 3)));
    return wrap(a.env(), at::sum(a.T(0), a.ints(1), a.flag(2, false), optDtype(a, 3)));
  });
  GB_OP(exports, "mean", {
    if (!a.has(1)) return wrap(a.env(), at::mean(a.T(0), optDtype(a, 3)));
    return wrap(a.env(), at::mean(a.T(0), a.ints(1), a.flag(2, false), optDtype(a, 3)));
  });
  GB_OP(exports, "prod", { return wrap(a.env(), at::prod(a.T(0), optDtype(a, 1))); });
  GB_OP(exports, "maxAll", { return wrap(a.env(), at::max(a.T(0))); });
  GB_OP(exports, "minAll", { return wrap(a.env(), at::min(a.T(0))); });
  GB_OP(exports, "maxDim", {
    auto r = at::max(a.T(0), a.i64(1), a.flag(2, false));
    return wrapList(a.env(), {std::get<0>(r), std::get<1>(r)});
  });
  GB_OP(exports, "minDim", {
    auto r = at::min(a.T(0), a.i64(1), a.flag(2, false));
    return wrapList(a.env(), {std::get<0>(r), std::get<1>(r)});
  });
  GB_OP(exports, "argmax", {
    c10::optional<int64_t> dim;
    if (a.has(1)) dim = a.i64(1);
    return wrap(a.env(), at::argmax(a.T(0), dim, a.flag(2, false)));
  });
  GB_OP(exports, "argmin", {
    c10::optional<int64_t> dim;
    if (a.has(1)) dim = a.i64(1);
    return wrap(a.env(), at::argmin(a.T(0), dim, a.flag(2, false)));
  });
  // var/std: (t, dims?, correction (1 = unbiased), keepdim)
  GB_OP(exports, "var", {
    at::OptionalIntArrayRef dims = c10::nullopt;
    std::vector<int64_t> d;
    if (a.has(1)) { d = a.ints(1); dims = d; }
    return wrap(a.env(), at::var(a.T(0), dims, c10::optional<int64_t>(a.i64(2, 1)), a.flag(3, false)));
  });
  GB_OP(exports, "std", {
    at::OptionalIntArrayRef dims = c10::nullopt;
    std::vector<int64_t> d;
    if (a.has(1)) { d = a.ints(1); dims = d; }
    return wrap(a.env(), at::std(a.T(0), dims, c10::optional<int64_t>(a.i64(2, 1)), a.flag(3, false)));
  });
  // norm: (t, p, dims?, keepdim)
  GB_OP(exports, "norm", {
    at::Scalar p = a.has(1) ? a.scalar(1) : at::Scalar(2.0);
    if (!a.has(2)) return wrap(a.env(), at::norm(a.T(0), p));
    return wrap(a.env(), at::norm(a.T(0), p, a.ints(2), a.flag(3, false)));
  });
  GB_OP(exports, "cumsum", { return wrap(a.env(), at::cumsum(a.T(0), a.i64(1), optDtype(a, 2))); });
  GB_OP(exports, "logsumexp", { return wrap(a.env(), at::logsumexp(a.T(0), a.ints(1), a.flag(2, false))); });
  GB_OP(exports, "any", { return wrap(a.env(), at::any(a.T(0))); });
  GB_OP(exports, "all", { return wrap(a.env(), at::all(a.T(0))); });

  GB_OP(exports, "matmul", { return wrap(a.env(), at::matmul(a.T(0), a.T(1))); });
  GB_OP(exports, "mm", { return wrap(a.env(), at::mm(a.T(0), a.T(1))); });
  GB_OP(exports, "bmm", { return wrap(a.env(), at::bmm(a.T(0), a.T(1))); });
  GB_OP(exports, "addmm", {
    return wrap(a.env(), at::addmm(a.T(0), a.T(1), a.T(2), a.has(3) ? a.scalar(3) : at::Scalar(1), a.has(4) ? a.scalar(4) : at::Scalar(1)));
  });
  GB_OP(exports, "linear", { return wrap(a.env(), at::linear(a.T(0), a.T(1), a.optT(2))); });
  GB_OP(exports, "outer", { return wrap(a.env(), at::outer(a.T(0), a.T(1))); });
}

}  // namespace gb
