// The tensor handle, argument conversion, and everything that is not an op: data in and out,
// autograd entry points, RNG, threads, devices, memory counters, version.
#include "common.h"
#include "fused.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <sstream>

namespace gb {

int64_t TensorWrap::liveCount = 0;
int64_t TensorWrap::liveBytes = 0;
static Napi::FunctionReference* tensorCtor = nullptr;

// V8 is told how much native memory the tensor handles keep alive, so that garbage collection
// frees forgotten handles under realistic pressure. Told at every tensor's birth and death, as
// before, a training step (hundreds of activations of megabytes, made and freed) crossed V8's
// external-memory limit over and over, and each crossing started a full collection (BERT-small,
// batch 8: 14 of forward's 28 ms of host time). V8 now hears of the live total only when it rises
// above half as much again as last reported (and 64 MB), or falls below a quarter of it: a
// training loop, whose memory swings between the same bounds every step, reports after its first
// steps and then no more; V8 counts its high-water mark, which errs towards collecting early.
static int64_t reportedBytes = 0;
static void reportExternal(Napi::Env env) {
  int64_t live = TensorWrap::liveBytes;
  if (live > reportedBytes + std::max<int64_t>(int64_t{64} << 20, reportedBytes / 2) || live < reportedBytes / 4) {
    Napi::MemoryManagement::AdjustExternalMemory(env, live - reportedBytes);
    reportedBytes = live;
  }
}

static int64_t bytesOf(const at::Tensor& t) {
  return t.defined() ? static_cast<int64_t>(t.numel()) * static_cast<int64_t>(t.element_size()) : 0;
}

Napi::Function TensorWrap::Init(Napi::Env env) {
  Napi::Function f = DefineClass(env, "NativeTensor",
                                 {InstanceMethod("dispose", &TensorWrap::Dispose),
                                  InstanceMethod("isDisposed", &TensorWrap::IsDisposed)});
  tensorCtor = new Napi::FunctionReference(Napi::Persistent(f));
  return f;
}

TensorWrap::TensorWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TensorWrap>(info) {}
TensorWrap::~TensorWrap() {
  if (t_.defined()) {
    liveCount--;
    liveBytes -= bytes_;
  }
}

void TensorWrap::Finalize(Napi::Env env) {
  if (t_.defined()) release(env);
}

void TensorWrap::reset(Napi::Env env, at::Tensor t) {
  if (t_.defined()) release(env);
  t_ = std::move(t);
  if (t_.defined()) {
    bytes_ = bytesOf(t_);
    liveCount++;
    liveBytes += bytes_;
    reportExternal(env);
  }
}

void TensorWrap::resync(Napi::Env env) {
  if (!t_.defined()) return;
  int64_t b = bytesOf(t_);
  liveBytes += b - bytes_;
  bytes_ = b;
  reportExternal(env);
}

void TensorWrap::release(Napi::Env env) {
  if (!t_.defined()) return;
  liveCount--;
  liveBytes -= bytes_;
  bytes_ = 0;
  reportExternal(env);
  t_ = at::Tensor();
}

at::Tensor& TensorWrap::tensor(const char* op) {
  if (!t_.defined()) {
    throw std::runtime_error("tensor used after dispose()");
  }
  return t_;
}

Napi::Object TensorWrap::Wrap(Napi::Env env, at::Tensor t) {
  Napi::Object obj = tensorCtor->New({});
  TensorWrap::Unwrap(obj)->reset(env, std::move(t));
  return obj;
}

Napi::Value TensorWrap::Dispose(const Napi::CallbackInfo& info) {
  release(info.Env());
  return info.Env().Undefined();
}
Napi::Value TensorWrap::IsDisposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !t_.defined());
}

Napi::Value wrap(Napi::Env env, at::Tensor t) { return TensorWrap::Wrap(env, std::move(t)); }

Napi::Value wrapList(Napi::Env env, const std::vector<at::Tensor>& ts) {
  Napi::Array arr = Napi::Array::New(env, ts.size());
  for (size_t i = 0; i < ts.size(); i++) arr.Set(i, wrap(env, ts[i]));
  return arr;
}

void fail(Napi::Env env, const char* op, const std::string& msg) {
  // libtorch messages can carry a trailing newline and "Exception raised from" context.
  std::string m = msg;
  auto cut = m.find("\nException raised from");
  if (cut != std::string::npos) m = m.substr(0, cut);
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  throw Napi::Error::New(env, std::string(op) + ": " + m);
}

// ---- Args ----------------------------------------------------------------------------------
static TensorWrap* unwrapTensor(const Napi::Value& v) {
  if (!v.IsObject()) return nullptr;
  Napi::Object o = v.As<Napi::Object>();
  if (!o.InstanceOf(tensorCtor->Value())) return nullptr;
  return TensorWrap::Unwrap(o);
}

bool Args::isTensor(size_t i) const { return i < info.Length() && unwrapTensor(info[i]) != nullptr; }

TensorWrap* Args::W(size_t i) const {
  TensorWrap* w = i < info.Length() ? unwrapTensor(info[i]) : nullptr;
  if (!w) throw std::runtime_error("argument " + std::to_string(i) + " must be a Tensor");
  return w;
}

at::Tensor& Args::T(size_t i) const { return W(i)->tensor(op); }

c10::optional<at::Tensor> Args::optT(size_t i) const {
  if (!has(i)) return c10::nullopt;
  return T(i);
}

std::vector<at::Tensor> Args::list(size_t i) const {
  if (i >= info.Length() || !info[i].IsArray()) throw std::runtime_error("argument " + std::to_string(i) + " must be an array of Tensors");
  Napi::Array arr = info[i].As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); k++) {
    TensorWrap* w = unwrapTensor(arr.Get(k));
    if (!w) throw std::runtime_error("element " + std::to_string(k) + " of argument " + std::to_string(i) + " is not a Tensor");
    out.push_back(w->tensor(op));
  }
  return out;
}

std::vector<int64_t> Args::ints(size_t i) const {
  if (i >= info.Length() || !info[i].IsArray()) throw std::runtime_error("argument " + std::to_string(i) + " must be an array of integers");
  Napi::Array arr = info[i].As<Napi::Array>();
  std::vector<int64_t> out(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); k++) {
    Napi::Value v = arr.Get(k);
    if (!v.IsNumber()) throw std::runtime_error("argument " + std::to_string(i) + " must be an array of integers");
    double d = v.As<Napi::Number>().DoubleValue();
    if (d != static_cast<double>(static_cast<int64_t>(d))) throw std::runtime_error("argument " + std::to_string(i) + " holds a non-integer " + std::to_string(d));
    out[k] = static_cast<int64_t>(d);
  }
  return out;
}

double Args::num(size_t i) const {
  if (i >= info.Length() || !info[i].IsNumber()) throw std::runtime_error("argument " + std::to_string(i) + " must be a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

int64_t Args::i64(size_t i) const {
  double d = num(i);
  if (d != static_cast<double>(static_cast<int64_t>(d))) throw std::runtime_error("argument " + std::to_string(i) + " must be an integer");
  return static_cast<int64_t>(d);
}

bool Args::flag(size_t i, bool dflt) const {
  if (!has(i)) return dflt;
  return info[i].ToBoolean().Value();
}

std::string Args::str(size_t i) const {
  if (i >= info.Length() || !info[i].IsString()) throw std::runtime_error("argument " + std::to_string(i) + " must be a string");
  return info[i].As<Napi::String>().Utf8Value();
}

at::Scalar Args::scalar(size_t i) const {
  if (i < info.Length() && info[i].IsBoolean()) return at::Scalar(info[i].As<Napi::Boolean>().Value());
  // Integral JS numbers become integer scalars, as Python ints do in PyTorch, so that
  // int64Tensor.sub(1) stays int64 (a double scalar would promote it to float).
  double d = num(i);
  if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9007199254740992.0) return at::Scalar(static_cast<int64_t>(d));
  return at::Scalar(d);
}

at::ScalarType Args::dtype(size_t i) const { return dtypeOfCode(i64(i)); }

c10::Device Args::device(size_t i) const {
  if (!has(i)) return c10::Device(c10::kCPU);
  return c10::Device(str(i));
}

at::TensorOptions Args::options(size_t dtypeArg, size_t deviceArg) const {
  at::TensorOptions o = at::TensorOptions().dtype(has(dtypeArg) ? dtype(dtypeArg) : at::kFloat);
  return o.device(device(deviceArg));
}

c10::optional<at::Generator> Args::gen(size_t i) const {
  if (!has(i)) return c10::nullopt;
  return *handle<at::Generator>(i, Handle::Generator);
}

// ---- Registration of non-op functions --------------------------------------------------------
static at::Generator defaultGen(const c10::Device& d) {
  return at::globalContext().defaultGenerator(d.is_cuda() ? d : c10::Device(c10::kCPU));
}

void registerCore(Napi::Object exports) {
  Napi::Env env = exports.Env();
  exports.Set("NativeTensor", TensorWrap::Init(env));

  GB_OP(exports, "shape", {
    auto s = a.T(0).sizes();
    Napi::Array arr = Napi::Array::New(a.env(), s.size());
    for (size_t k = 0; k < s.size(); k++) arr.Set(k, Napi::Number::New(a.env(), static_cast<double>(s[k])));
    return arr;
  });
  GB_OP(exports, "dtypeCode", { return Napi::Number::New(a.env(), static_cast<int>(a.T(0).scalar_type())); });
  GB_OP(exports, "deviceName", { return Napi::String::New(a.env(), a.T(0).device().str()); });
  GB_OP(exports, "numel", { return Napi::Number::New(a.env(), static_cast<double>(a.T(0).numel())); });
  GB_OP(exports, "isContiguous", { return Napi::Boolean::New(a.env(), a.T(0).is_contiguous()); });
  GB_OP(exports, "item", {
    at::Tensor& t = a.T(0);
    if (t.numel() != 1) throw std::runtime_error("item() needs a tensor with one element, got " + std::to_string(t.numel()));
    return Napi::Number::New(a.env(), t.item<double>());
  });
  GB_OP(exports, "format", {
    std::ostringstream ss;
    ss << a.T(0);
    return Napi::String::New(a.env(), ss.str());
  });

  // Data in: copies a typed array's bytes into a new CPU tensor of the given dtype and shape.
  GB_OP(exports, "fromBytes", {
    if (!a.info[0].IsTypedArray()) throw std::runtime_error("argument 0 must be a typed array");
    Napi::TypedArray ta = a.info[0].As<Napi::TypedArray>();
    auto shape = a.ints(1);
    at::ScalarType st = a.dtype(2);
    int64_t n = 1;
    for (auto s : shape) n *= s;
    size_t need = static_cast<size_t>(n) * c10::elementSize(st);
    if (ta.ByteLength() != need) throw std::runtime_error("data has " + std::to_string(ta.ByteLength()) + " bytes but shape and dtype need " + std::to_string(need));
    at::Tensor t = at::empty(shape, at::TensorOptions().dtype(st));
    uint8_t* src = static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
    if (need) std::memcpy(t.data_ptr(), src, need);
    return wrap(a.env(), t);
  });
  // Data out: a contiguous CPU copy as an ArrayBuffer.
  GB_OP(exports, "toBytes", {
    at::Tensor t = a.T(0).detach().to(c10::Device(c10::kCPU)).contiguous();
    size_t n = t.numel() * t.element_size();
    Napi::ArrayBuffer buf = Napi::ArrayBuffer::New(a.env(), n);
    if (n) std::memcpy(buf.Data(), t.data_ptr(), n);
    return buf;
  });

  // Autograd.
  GB_OP(exports, "requiresGrad", { return Napi::Boolean::New(a.env(), a.T(0).requires_grad()); });
  GB_OP(exports, "setRequiresGrad", { a.T(0).set_requires_grad(a.flag(1, true)); return a.env().Undefined(); });
  GB_OP(exports, "isLeaf", { return Napi::Boolean::New(a.env(), a.T(0).is_leaf()); });
  GB_OP(exports, "grad", {
    const at::Tensor& g = a.T(0).grad();
    if (!g.defined()) return a.env().Null();
    return wrap(a.env(), g);
  });
  GB_OP(exports, "setGrad", {
    if (a.has(1)) a.T(0).mutable_grad() = a.T(1);
    else a.T(0).mutable_grad().reset();
    return a.env().Undefined();
  });
  GB_OP(exports, "retainGrad", { a.T(0).retain_grad(); return a.env().Undefined(); });
  GB_OP(exports, "backward", {
    at::Tensor& t = a.T(0);
    c10::optional<at::Tensor> g;
    if (a.has(1)) g = a.T(1);
    bool retain = a.flag(2, false);
    t.backward(g.has_value() ? *g : at::Tensor(), retain, false);
    return a.env().Undefined();
  });
  GB_OP(exports, "isGradEnabled", { return Napi::Boolean::New(a.env(), c10::GradMode::is_enabled()); });
  GB_OP(exports, "setGradEnabled", { c10::GradMode::set_enabled(a.flag(0, true)); return a.env().Undefined(); });

  // RNG: the global generators (seeded by manualSeed) and standalone seeded generators.
  GB_OP(exports, "manualSeed", { at::manual_seed(static_cast<uint64_t>(a.i64(0))); return a.env().Undefined(); });
  GB_OP(exports, "makeGenerator", {
    auto* g = new at::Generator(at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(a.i64(0))));
    return newExternal(a.env(), g, Handle::Generator, [](Napi::Env, at::Generator* p) { delete p; });
  });
  GB_OP(exports, "getRngState", {
    at::Generator g = a.has(0) && a.info[0].IsExternal() ? *a.gen(0) : defaultGen(a.device(0));
    at::Tensor s;
    {
      std::lock_guard<std::mutex> lock(g.mutex());
      s = g.get_state();
    }
    return wrap(a.env(), s);
  });
  GB_OP(exports, "setRngState", {
    at::Generator g = a.has(1) && a.info[1].IsExternal() ? *a.gen(1) : defaultGen(a.device(1));
    std::lock_guard<std::mutex> lock(g.mutex());
    g.set_state(a.T(0));
    return a.env().Undefined();
  });

  // Threads and devices.
  GB_OP(exports, "setNumThreads", { at::set_num_threads(static_cast<int>(a.i64(0))); return a.env().Undefined(); });
  GB_OP(exports, "getNumThreads", { return Napi::Number::New(a.env(), at::get_num_threads()); });
  GB_OP(exports, "cudaIsAvailable", { return Napi::Boolean::New(a.env(), at::hasCUDA()); });
  // Whether this addon was compiled against a CUDA libtorch, GPU or not: tells "no GPU visible" from "no CUDA".
#ifdef GROWBERT_CUDA
  GB_OP(exports, "cudaBuilt", { return Napi::Boolean::New(a.env(), true); });
#else
  GB_OP(exports, "cudaBuilt", { return Napi::Boolean::New(a.env(), false); });
#endif
  GB_OP(exports, "cudaDeviceCount", {
    return Napi::Number::New(a.env(), at::hasCUDA() ? static_cast<double>(at::detail::getCUDAHooks().getNumGPUs()) : 0.0);
  });
  // Waits for queued work on a device: a one-element copy to the CPU is stream-ordered and blocks.
  GB_OP(exports, "synchronize", {
    c10::Device d = a.device(0);
    if (d.is_cuda()) at::zeros({1}, at::TensorOptions().device(d)).cpu();
    return a.env().Undefined();
  });
  GB_OP(exports, "liveTensors", { return Napi::Number::New(a.env(), static_cast<double>(TensorWrap::liveCount)); });
  GB_OP(exports, "liveBytes", { return Napi::Number::New(a.env(), static_cast<double>(TensorWrap::liveBytes)); });
  GB_OP(exports, "torchVersion", {
    return Napi::String::New(a.env(), std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." + std::to_string(TORCH_VERSION_PATCH));
  });
  GB_OP(exports, "hasNativeSdpa", { return Napi::Boolean::New(a.env(), GB_TORCH_AT_LEAST(2, 1)); });

  // The benchmark's reference: the same matmul timed entirely inside C++ (GFLOP/s).
  GB_OP(exports, "benchMatmulCpp", {
    int64_t n = a.i64(0), iters = a.i64(1);
    at::TensorOptions o = at::TensorOptions().dtype(at::kFloat).device(a.device(2));
    at::Tensor x = at::randn({n, n}, o), y = at::randn({n, n}, o);
    at::Tensor z = at::matmul(x, y);  // warm-up
    if (o.device().is_cuda()) z.cpu();
    auto t0 = std::chrono::steady_clock::now();
    for (int64_t k = 0; k < iters; k++) z = at::matmul(x, y);
    if (o.device().is_cuda()) z.sum().cpu();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return Napi::Number::New(a.env(), 2.0 * n * n * n * iters / s / 1e9);
  });
}

}  // namespace gb

static Napi::Object InitAll(Napi::Env env, Napi::Object exports) {
  gb::registerCodes(exports);
  gb::registerCore(exports);
  gb::registerCreation(exports);
  gb::registerShape(exports);
  gb::registerMath(exports);
  gb::registerNN(exports);
  gb::registerInplace(exports);
  gb::registerProfile(exports);
  gb::registerFused(exports);
  gb::registerOptim(exports);
  gb::registerFusedLoss(exports);
  gb::registerFusedCast(exports);
#ifndef GROWBERT_NO_DIST
  gb::registerDistributed(exports);
#endif
  return exports;
}

NODE_API_MODULE(growbert, InitAll)
