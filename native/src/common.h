// Shared helpers for the growbert addon: the tensor handle class, argument conversion, and the
// guard that turns every libtorch exception into a JavaScript Error naming the op.
#pragma once
#include <napi.h>
#include <ATen/ATen.h>
#include <torch/version.h>
#include <optional>
#include <string>
#include <vector>

#define GB_TORCH_AT_LEAST(maj, min) \
  (TORCH_VERSION_MAJOR > (maj) || (TORCH_VERSION_MAJOR == (maj) && TORCH_VERSION_MINOR >= (min)))

namespace gb {

// A JS-visible handle owning one at::Tensor. dispose() frees it early; the GC finalizer frees it
// otherwise. Counts live handles and their bytes so leaks are visible from JavaScript.
class TensorWrap : public Napi::ObjectWrap<TensorWrap> {
 public:
  static Napi::Function Init(Napi::Env env);
  static Napi::Object Wrap(Napi::Env env, at::Tensor t);
  explicit TensorWrap(const Napi::CallbackInfo& info);
  ~TensorWrap() override;
  void Finalize(Napi::Env env) override;

  at::Tensor& tensor(const char* op);  // throws "use after dispose"
  bool alive() const { return t_.defined(); }
  void release(Napi::Env env);
  void reset(Napi::Env env, at::Tensor t);
  void resync(Napi::Env env);  // after an op that changed the tensor's size in place (set_)

  static int64_t liveCount;
  static int64_t liveBytes;

 private:
  at::Tensor t_;
  int64_t bytes_ = 0;
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value IsDisposed(const Napi::CallbackInfo& info);
};

struct Args {
  const Napi::CallbackInfo& info;
  const char* op;
  Napi::Env env() const { return info.Env(); }
  size_t size() const { return info.Length(); }
  bool has(size_t i) const { return i < info.Length() && !info[i].IsUndefined() && !info[i].IsNull(); }
  bool isTensor(size_t i) const;
  at::Tensor& T(size_t i) const;
  TensorWrap* W(size_t i) const;
  c10::optional<at::Tensor> optT(size_t i) const;
  std::vector<at::Tensor> list(size_t i) const;
  std::vector<int64_t> ints(size_t i) const;
  double num(size_t i) const;
  double num(size_t i, double dflt) const { return has(i) ? num(i) : dflt; }
  int64_t i64(size_t i) const;
  int64_t i64(size_t i, int64_t dflt) const { return has(i) ? i64(i) : dflt; }
  bool flag(size_t i, bool dflt) const;
  std::string str(size_t i) const;
  at::Scalar scalar(size_t i) const;
  at::ScalarType dtype(size_t i) const;
  c10::Device device(size_t i) const;
  at::TensorOptions options(size_t dtypeArg, size_t deviceArg) const;
  c10::optional<at::Generator> gen(size_t i) const;
};

// libtorch 1.13 silently ignores a non-bool mask in masked_fill (2.x refuses it): refuse it on
// every version.
inline const at::Tensor& boolMask(const at::Tensor& m) {
  if (m.scalar_type() != at::kBool) throw std::runtime_error(std::string("mask must be a bool tensor, got dtype ") + c10::toString(m.scalar_type()));
  return m;
}

Napi::Value wrap(Napi::Env env, at::Tensor t);
Napi::Value wrapList(Napi::Env env, const std::vector<at::Tensor>& ts);
[[noreturn]] void fail(Napi::Env env, const char* op, const std::string& msg);

// Runs `body` and converts any libtorch / C++ exception into a JS Error "op: message".
template <typename F>
Napi::Value guarded(const Napi::CallbackInfo& info, const char* op, F body) {
  try {
    return body(Args{info, op});
  } catch (const Napi::Error&) {
    throw;
  } catch (const c10::Error& e) {
    fail(info.Env(), op, e.what_without_backtrace());
  } catch (const std::exception& e) {
    fail(info.Env(), op, e.what());
  }
}

// Registers a JS function `name` whose body sees `a` (Args) and returns a Napi::Value.
#define GB_OP(exports, name, ...)                                                         \
  (exports).Set(name, Napi::Function::New(                                              \
                          (exports).Env(),                                              \
                          [](const Napi::CallbackInfo& info) -> Napi::Value {           \
                            return ::gb::guarded(info, name,                            \
                                                 [&](const ::gb::Args& a) -> Napi::Value { \
                                                   __VA_ARGS__                          \
                                                 });                                    \
                          },                                                            \
                          name))

void registerCore(Napi::Object exports);
void registerCreation(Napi::Object exports);
void registerShape(Napi::Object exports);
void registerMath(Napi::Object exports);
void registerNN(Napi::Object exports);
void registerInplace(Napi::Object exports);
// Op-time profile, hardware queries for --precision auto, BLAS threads (native/src/perf.cc).
void registerProfile(Napi::Object exports);
// c10d process groups (native/src/distributed.cc); absent when built with GROWBERT_NO_DIST.
void registerDistributed(Napi::Object exports);

}  // namespace gb
