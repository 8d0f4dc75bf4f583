// Speed: where a training step's time goes (`growbert bench --profile`), what the hardware offers
// for `--precision auto`, and the BLAS library's own thread pool. The profile hooks libtorch's RecordFunction (every ATen op called from the
// addon and every autograd node of a backward pass calls it) while switched on, and sums the wall
// time of each *outermost* op by name: aten::linear with the addmm and BLAS call inside it, or
// "autograd::engine::evaluate_function: EmbeddingBackward0" with the zero-fill and index_add it
// runs. Outermost names say which part of the model the time belongs to; time outside every op
// (JavaScript, the addon's marshalling) is what remains of the step's wall time. Off, it costs
// nothing: no callback is registered.
#include "common.h"

#include <ATen/record_function.h>

#include <dlfcn.h>
#include <time.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <chrono>
#include <limits>
#include <map>
#include <mutex>

#ifdef GROWBERT_CUDA
#include <ATen/cuda/CUDAContext.h>
#endif

namespace gb {

thread_local int64_t nativeCalls = 0;

namespace {

// Wall time, or with cpuClock this thread's CPU time: on a machine shared with other work, CPU
// time is what the step itself cost (right when libtorch runs one thread).
bool cpuClock = false;
double nowMs() {
  timespec ts;
  clock_gettime(cpuClock ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

struct OpStat {
  double ms = 0;
  int64_t calls = 0;
};

std::mutex statsMutex;
std::map<std::string, OpStat> stats;
double topLevelMs = 0;  // wall time inside outermost ops (on any thread)
bool active = false;
at::CallbackHandle handle = 0;
// Start times of the ops open on this thread, outermost first.
thread_local std::vector<double> stack;

std::unique_ptr<at::ObserverContext> onStart(const at::RecordFunction&) {
  stack.push_back(nowMs());
  return nullptr;
}

void onEnd(const at::RecordFunction& fn, at::ObserverContext*) {
  if (stack.empty()) return;  // started before the profile was switched on
  double start = stack.back();
  stack.pop_back();
  if (!stack.empty()) return;  // inside another op: counted with it
  double ms = nowMs() - start;
  std::lock_guard<std::mutex> lock(statsMutex);
  OpStat& s = stats[fn.name()];
  s.ms += ms;
  s.calls++;
  topLevelMs += ms;
}

}  // namespace

void registerProfile(Napi::Object exports) {
  // profileStart(cpuClock = false): clears the counters and starts recording.
  GB_OP(exports, "profileStart", {
    std::lock_guard<std::mutex> lock(statsMutex);
    cpuClock = a.flag(0, false);
    stats.clear();
    topLevelMs = 0;
    if (!active) {
      handle = at::addGlobalCallback(at::RecordFunctionCallback(onStart, onEnd).needsInputs(false));
      active = true;
    }
    return a.env().Undefined();
  });
  // profileStop() -> { topLevelMs, ops: { outermost op name: [ms, calls] } }; stops recording.
  GB_OP(exports, "profileStop", {
    if (active) {
      at::removeCallback(handle);
      active = false;
    }
    std::lock_guard<std::mutex> lock(statsMutex);
    Napi::Object out = Napi::Object::New(a.env());
    Napi::Object ops = Napi::Object::New(a.env());
    for (const auto& [name, s] : stats) {
      Napi::Array v = Napi::Array::New(a.env(), 2);
      v.Set(0u, Napi::Number::New(a.env(), s.ms));
      v.Set(1u, Napi::Number::New(a.env(), static_cast<double>(s.calls)));
      ops.Set(name, v);
    }
    out.Set("topLevelMs", Napi::Number::New(a.env(), topLevelMs));
    out.Set("ops", ops);
    return out;
  });
  // profileCounters() -> [native calls made from this thread, not counting this one; ms inside
  // outermost ops since profileStart; now on the profile's clock]: read at the boundaries of a
  // step's phases, they give each phase's calls and the host time outside the ops.
  GB_OP(exports, "profileCounters", {
    nativeCalls--;
    double inside;
    {
      std::lock_guard<std::mutex> lock(statsMutex);
      inside = topLevelMs;
    }
    Napi::Array v = Napi::Array::New(a.env(), 3);
    v.Set(0u, Napi::Number::New(a.env(), static_cast<double>(nativeCalls)));
    v.Set(1u, Napi::Number::New(a.env(), inside));
    v.Set(2u, Napi::Number::New(a.env(), nowMs()));
    return v;
  });
  // threadCpuMs() -> this (the main) thread's CPU time in ms: a step's own cost on a shared machine,
  // without the CPU that Node's helper threads (garbage collection) spend beside it.
  GB_OP(exports, "threadCpuMs", {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return Napi::Number::New(a.env(), ts.tv_sec * 1e3 + ts.tv_nsec / 1e6);
  });
  // cudaCapability(device) -> [major, minor] of a CUDA device, or null without CUDA.
  GB_OP(exports, "cudaCapability", {
#ifdef GROWBERT_CUDA
    c10::Device d = a.device(0);
    if (at::hasCUDA() && d.is_cuda()) {
      const cudaDeviceProp* p = at::cuda::getDeviceProperties(d.has_index() ? d.index() : 0);
      Napi::Array v = Napi::Array::New(a.env(), 2);
      v.Set(0u, Napi::Number::New(a.env(), p->major));
      v.Set(1u, Napi::Number::New(a.env(), p->minor));
      return v;
    }
#endif
    return a.env().Null();
  });
  // OpenBLAS keeps its own thread pool, apart from libtorch's (at::set_num_threads does not size
  // it). Left at the core count under one libtorch thread, its idle workers spin and a step costs
  // more CPU; under several, its threads and libtorch's compete. blasThreads(n?) sets it where the
  // BLAS in use is OpenBLAS (found at run time, so no link dependency) and returns the count,
  // or -1 where the BLAS is another.
  // A training step frees and reallocates the same few hundred MB of tensors every step. glibc
  // serves each block above its mmap threshold (at most 32 MB) with a fresh mmap and gives it back
  // on free, so every step faults in those pages again, zero-filled by the kernel: measured on
  // mini, 85k page faults and 15% of a step's CPU time. retainFreedMemory(true) keeps freed memory
  // in malloc's heap for the next step to reuse (what PyTorch's CUDA caching allocator, or
  // jemalloc, do); false restores glibc's defaults and returns what is free to the system. Returns
  // whether it applies (glibc only). Process-wide, so the trainers switch it on only while they train.
  GB_OP(exports, "retainFreedMemory", {
#ifdef __GLIBC__
    if (a.flag(0, true)) {
      mallopt(M_MMAP_MAX, 0);  // large blocks come from the heap too (thread arenas still mmap beyond 64 MB)
      mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max());
    } else {
      mallopt(M_MMAP_MAX, 65536);
      mallopt(M_TRIM_THRESHOLD, 128 * 1024);
      malloc_trim(0);
    }
    return Napi::Boolean::New(a.env(), true);
#else
    return Napi::Boolean::New(a.env(), false);
#endif
  });
  GB_OP(exports, "blasThreads", {
    using SetFn = void (*)(int);
    using GetFn = int (*)();
    auto set = reinterpret_cast<SetFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
    auto get = reinterpret_cast<GetFn>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
    if (!set || !get) return Napi::Number::New(a.env(), -1);
    if (a.has(0)) set(static_cast<int>(a.i64(0)));
    return Napi::Number::New(a.env(), get());
  });
}

}  // namespace gb
