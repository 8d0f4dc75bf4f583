// The checked boundary: each op's declared signature (generated from src/tensor/native-api.ts),
// the argument check every op runs first, the type tags of external handles, and the dtype and
// reduction codes, exported so the TypeScript side reads them instead of copying numbers.
#include "common.h"

#include <ATen/core/Reduction.h>

#include <cmath>
#include <cstring>
#include <sstream>
#include <unordered_map>

namespace gb {

namespace {

const OpSig kApi[] = {
#include "native_api.inc"
};

const std::unordered_map<std::string, const OpSig*>& table() {
  static const auto* t = [] {
    auto* m = new std::unordered_map<std::string, const OpSig*>();
    for (const OpSig& s : kApi) (*m)[s.name] = &s;
    return m;
  }();
  return *t;
}

// The dtypes the addon takes, by growbert's name (src/tensor/dtype.ts reads these codes).
const std::pair<const char*, at::ScalarType> kDtypes[] = {
    {"uint8", at::kByte},   {"int32", at::kInt},    {"int64", at::kLong},     {"float16", at::kHalf},
    {"float32", at::kFloat}, {"float64", at::kDouble}, {"bool", at::kBool}, {"bfloat16", at::kBFloat16},
};

std::string kindText(uint32_t k) {
  static const std::pair<uint32_t, const char*> names[] = {
      {kTensor, "a Tensor"}, {kTensors, "an array of Tensors"}, {kInt, "an integer"}, {kInts, "an array of integers"},
      {kNumber, "a number"}, {kBool, "a boolean"}, {kString, "a string"}, {kScalar, "a number or boolean"},
      {kDtype, "a dtype code"}, {kDevice, "a device name"}, {kGenerator, "a Generator"}, {kGroup, "a process group"},
      {kWork, "a work handle"}, {kReducer, "a gradient reducer"}, {kBytes, "a typed array"}, {kObject, "an object"},
  };
  std::string out;
  for (const auto& [bit, text] : names) {
    if (!(k & bit)) continue;
    if (!out.empty()) out += " or ";
    out += text;
  }
  return out;
}

std::string typeText(const Napi::Value& v) {
  if (v.IsExternal()) {
    for (Handle h : {Handle::Generator, Handle::Group, Handle::Work, Handle::Reducer}) {
      if (v.As<Napi::External<void>>().CheckTypeTag(tagOf(h))) return handleName(h);
    }
    return "an untagged external";
  }
  if (v.IsArray()) return "an array";
  if (v.IsTypedArray()) return "a typed array";
  if (v.IsString()) return "a string";
  if (v.IsNumber()) {
    std::ostringstream ss;
    ss << v.As<Napi::Number>().DoubleValue();
    return "the number " + ss.str();
  }
  if (v.IsBoolean()) return "a boolean";
  if (v.IsFunction()) return "a function";
  if (v.IsObject()) return "an object";
  return "a value of another type";
}

// Whether argument i (present: not undefined or null) is of one of the kinds k. One napi_typeof,
// then only the checks that kind needs: this runs on every call of every op.
bool matches(const Args& a, size_t i, uint32_t k) {
  const Napi::Value v = a.info[i];
  switch (v.Type()) {
    case napi_number: {
      if (k & (kNumber | kScalar)) return true;
      if (!(k & (kInt | kDtype))) return false;
      double d = v.As<Napi::Number>().DoubleValue();
      return std::isfinite(d) && d == std::floor(d);
    }
    case napi_boolean: return (k & (kBool | kScalar)) != 0;
    case napi_string: return (k & (kString | kDevice)) != 0;
    case napi_external:
      return ((k & kGenerator) && externalOf<void>(v, Handle::Generator)) || ((k & kGroup) && externalOf<void>(v, Handle::Group)) ||
             ((k & kWork) && externalOf<void>(v, Handle::Work)) || ((k & kReducer) && externalOf<void>(v, Handle::Reducer));
    case napi_object:
      if ((k & kTensor) && a.isTensor(i)) return true;
      if ((k & (kTensors | kInts)) && v.IsArray()) return true;  // elements are checked on conversion
      if ((k & kBytes) && v.IsTypedArray()) return true;
      return (k & kObject) && !v.IsArray() && !a.isTensor(i);
    default: return false;
  }
}

}  // namespace

const OpSig& signatureOf(const char* name) {
  auto it = table().find(name);
  if (it == table().end()) throw std::runtime_error(std::string("native op '") + name + "' is not declared in src/tensor/native-api.ts");
  return *it->second;
}

void requireDeclared(Napi::Env env, const char* name) {
  if (table().find(name) == table().end()) {
    throw Napi::Error::New(env, std::string("growbert addon: op '") + name + "' is not declared in src/tensor/native-api.ts; declare it there and rebuild");
  }
}

void checkArgs(const Args& a, const OpSig& sig) {
  size_t n = a.size();
  while (n > 0 && a.info[n - 1].IsUndefined()) n--;  // trailing undefined = left out
  if (n > static_cast<size_t>(sig.nargs)) {
    throw std::runtime_error("takes at most " + std::to_string(sig.nargs) + " argument(s), got " + std::to_string(n));
  }
  // The message is built only on failure: this runs on every call.
  auto which = [&](int i) {
    return "argument " + std::to_string(i) + (*sig.argNames[i] ? std::string(" (") + sig.argNames[i] + ")" : "");
  };
  for (int i = 0; i < sig.nargs; i++) {
    uint32_t k = sig.kinds[i];
    if (static_cast<size_t>(i) >= n || !a.has(i)) {
      if (k & kOptional) continue;
      throw std::runtime_error(which(i) + " is missing: it must be " + kindText(k));
    }
    if (!matches(a, i, k)) throw std::runtime_error(which(i) + " must be " + kindText(k) + ", got " + typeText(a.info[i]));
  }
}

const napi_type_tag* tagOf(Handle h) {
  // Random 128-bit values, one per kind of handle (as Node-API's documentation suggests).
  static const napi_type_tag tags[] = {
      {0x5c3e1b7a9d2f4e61ULL, 0xa7b94c0e2d6f8135ULL},  // Generator
      {0x1f8d2c6b4a9e7035ULL, 0xc2e5a7194b3d6f80ULL},  // Group
      {0x9a4f6e2d1c8b7053ULL, 0x3e7c1a5d9f0b2846ULL},  // Work
      {0x6d2b8f4a0e9c1735ULL, 0x84f1c3a6e2b95d07ULL},  // Reducer
  };
  return &tags[static_cast<int>(h)];
}

const char* handleName(Handle h) {
  switch (h) {
    case Handle::Generator: return "Generator";
    case Handle::Group: return "process group";
    case Handle::Work: return "work handle";
    case Handle::Reducer: return "gradient reducer";
  }
  return "handle";
}

at::ScalarType dtypeOfCode(int64_t code) {
  for (const auto& [name, st] : kDtypes) {
    if (static_cast<int64_t>(st) == code) return st;
  }
  throw std::runtime_error("unsupported dtype code " + std::to_string(code));
}

void registerCodes(Napi::Object exports) {
  Napi::Env env = exports.Env();
  Napi::Object dtypes = Napi::Object::New(env);
  for (const auto& [name, st] : kDtypes) dtypes.Set(name, Napi::Number::New(env, static_cast<int>(st)));
  exports.Set("dtypeCodes", dtypes);
  Napi::Object reductions = Napi::Object::New(env);
  reductions.Set("none", Napi::Number::New(env, at::Reduction::None));
  reductions.Set("mean", Napi::Number::New(env, at::Reduction::Mean));
  reductions.Set("sum", Napi::Number::New(env, at::Reduction::Sum));
  exports.Set("reductionCodes", reductions);
}

}  // namespace gb
