// Shared helpers for the growbert addon: the tensor handle class, argument conversion, the
// declared signature every op's arguments are checked against, type-tagged external handles, and
// the guard that turns every libtorch exception into a JavaScript Error naming the op.
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

// ---- Declared signatures ------------------------------------------------------------------------
// Every op is declared once, in src/tensor/native-api.ts; scripts/build-native.mjs turns that
// list into build/gen/native_api.inc (an OpSig per op), and GB_OP checks each call against it.
enum ArgKind : uint32_t {
  kTensor = 1u << 0, kTensors = 1u << 1, kInt = 1u << 2, kInts = 1u << 3, kNumber = 1u << 4,
  kBool = 1u << 5, kString = 1u << 6, kScalar = 1u << 7, kDtype = 1u << 8, kDevice = 1u << 9,
  kGenerator = 1u << 10, kGroup = 1u << 11, kWork = 1u << 12, kReducer = 1u << 13,
  kBytes = 1u << 14, kObject = 1u << 15,
  kOptional = 1u << 31,
};
constexpr int kMaxArgs = 8;
struct OpSig {
  const char* name;
  int nargs;
  uint32_t kinds[kMaxArgs];
  const char* argNames[kMaxArgs];
};
// The declaration of `name`; throws when the op is not declared.
const OpSig& signatureOf(const char* name);
// At registration: the same, but a JS Error (so the addon fails to load, naming the op).
void requireDeclared(Napi::Env env, const char* name);

// ---- Type-tagged externals -------------------------------------------------------------------
// Non-tensor handles (generators, process groups, collectives, reducers) are Napi::Externals with
// a type tag (Node-API 8), so a handle of the wrong kind is a JS Error, never a bad cast.
enum class Handle { Generator, Group, Work, Reducer };
const napi_type_tag* tagOf(Handle h);
const char* handleName(Handle h);

template <typename T, typename Finalizer>
Napi::Value newExternal(Napi::Env env, T* p, Handle h, Finalizer fin) {
  auto e = Napi::External<T>::New(env, p, fin);
  e.TypeTag(tagOf(h));
  return e;
}

// The T behind a tagged external, or nullptr when v is not a handle of kind h.
template <typename T>
T* externalOf(const Napi::Value& v, Handle h) {
  if (!v.IsExternal()) return nullptr;
  auto e = v.As<Napi::External<T>>();
  return e.CheckTypeTag(tagOf(h)) ? e.Data() : nullptr;
}

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
  // The T behind argument i, a tagged external of kind h (throws otherwise).
  template <typename T>
  T* handle(size_t i, Handle h) const {
    T* p = i < info.Length() ? externalOf<T>(info[i], h) : nullptr;
    if (!p) throw std::runtime_error("argument " + std::to_string(i) + " must be a " + handleName(h));
    return p;
  }
};

// Checks a call's arguments against the op's declaration (count, kinds, handle tags).
void checkArgs(const Args& a, const OpSig& sig);

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

// Native calls made from this thread (every GB_OP counts one): `bench --profile` reports them per
// step and a test pins one training step's count, so that a change adding calls is seen.
extern thread_local int64_t nativeCalls;

// Registers a JS function `name` whose body sees `a` (Args, already checked against the op's
// declaration) and returns a Napi::Value. An undeclared name throws here, at load time.
#define GB_OP(exports, name, ...)                                                          \
  (::gb::requireDeclared((exports).Env(), name),                                          \
   (exports).Set(name, Napi::Function::New(                                              \
                           (exports).Env(),                                              \
                           [](const Napi::CallbackInfo& info) -> Napi::Value {           \
                             static const ::gb::OpSig& sig = ::gb::signatureOf(name);    \
                             ::gb::nativeCalls++;                                        \
                             return ::gb::guarded(info, name,                            \
                                                  [&](const ::gb::Args& a) -> Napi::Value { \
                                                    ::gb::checkArgs(a, sig);             \
                                                    __VA_ARGS__                          \
                                                  });                                    \
                           },                                                            \
                           name)))

// The c10::ScalarType of a dtype code the addon accepts (throws on any other code).
at::ScalarType dtypeOfCode(int64_t code);

// dtypeCodes and reductionCodes (native/src/api.cc).
void registerCodes(Napi::Object exports);
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
