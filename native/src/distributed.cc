// PyTorch's distributed engine (c10d) for data-parallel training: a process group over Gloo
// (CPU, TCP) or NCCL (GPUs, when this libtorch has it), formed through a TCP or file store;
// allreduce (async, with a wait handle), broadcast, barrier; DDP's gradient Reducer (bucketed
// allreduce that runs while backward is still computing); and a per-rank heartbeat in the
// store, so that a failed collective can say which rank stopped. Mechanical: what to reduce and
// when is decided in src/dist/.
//
// Compiled only when the Gloo headers are present (scripts/build-native.mjs); otherwise the
// addon is built with GROWBERT_NO_DIST and has none of these functions.
#include "common.h"

// The c10d headers declare each backend only when told it was built in.
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1
#endif
#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <gloo/transport/device.h>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/comm.hpp>
#include <torch/csrc/distributed/c10d/reducer.hpp>
#ifdef GROWBERT_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>

namespace gb {
namespace {

using ms = std::chrono::milliseconds;

// libtorch 2.x split ProcessGroup (the user-facing group) from Backend (Gloo, NCCL); 1.13's
// ProcessGroupGloo is itself a ProcessGroup.
#if GB_TORCH_AT_LEAST(2, 0)
using BackendPtr = c10::intrusive_ptr<c10d::Backend>;
#else
using BackendPtr = c10::intrusive_ptr<c10d::ProcessGroup>;
#endif

// Writes "<counter> <step>" under growbert/hb/<rank> every interval from its own thread, so a
// rank whose counter stops moving is dead or frozen (no clocks compared across machines).
struct Heartbeat {
  c10::intrusive_ptr<c10d::Store> store;
  int rank = 0;
  ms interval{1000};
  std::atomic<bool> stop{false};
  std::atomic<int64_t> step{0};
  std::mutex m;
  std::condition_variable cv;
  bool done = false;
};

void heartbeatLoop(std::shared_ptr<Heartbeat> hb) {
  const std::string key = "growbert/hb/" + std::to_string(hb->rank);
  int64_t n = 0;
  while (!hb->stop.load()) {
    std::string v = std::to_string(++n) + " " + std::to_string(hb->step.load());
    try {
      hb->store->set(key, std::vector<uint8_t>(v.begin(), v.end()));
    } catch (...) {
      // the store is gone (its host died): nothing to report to
    }
    std::unique_lock<std::mutex> lock(hb->m);
    hb->cv.wait_for(lock, hb->interval, [&] { return hb->stop.load(); });
  }
  std::lock_guard<std::mutex> lock(hb->m);
  hb->done = true;
  hb->cv.notify_all();
}

struct Group {
  c10::intrusive_ptr<c10d::Store> store;  // the rendezvous store (unprefixed)
  BackendPtr backend;                      // collectives
  c10::intrusive_ptr<c10d::ProcessGroup> pg;  // what DDP's Reducer takes
  std::string backendName;
  int rank = 0, size = 1;
  std::string host, filePath;
  int port = 0;
  ms timeout{0};
  std::shared_ptr<Heartbeat> hb;
  bool destroyed = false;

  void stopHeartbeat() {
    if (!hb) return;
    hb->stop = true;
    std::unique_lock<std::mutex> lock(hb->m);
    hb->cv.notify_all();
    // The thread is detached: wait a little for it, never forever (a store set to a frozen host
    // may block until the store's own timeout).
    hb->cv.wait_for(lock, ms(2000), [&] { return hb->done; });
    hb.reset();
  }
  void destroy() {
    if (destroyed) return;
    destroyed = true;
    stopHeartbeat();
    pg.reset();
    backend.reset();
    store.reset();
  }
};

struct WorkBox {
  c10::intrusive_ptr<c10d::Work> work;
  std::vector<at::Tensor> tensors;  // kept alive until the work is done
};

// The Reducer's constructor changed shape between releases; the form the headers declare is
// picked, not a version number, so every release in between builds too:
//   1.13       per-bucket size limits as the third argument, nothing after first_bucket_bytes_cap;
//   2.x        no limits argument (9 arguments);
//   later 2.x  then skip_all_reduce_unused_params, then use_python_reducer, then the list of bucket
//              caps (2.13/2.14: all three, and a defaulted batched_grad_copy).
// The releases between 2.5 and 2.13 (2.11 on the GPU machine) take one of the middle forms. The
// empty cap list is what torch's DistributedDataParallel passes by default.
template <class R>
std::unique_ptr<R> newReducer(std::vector<at::Tensor> params, std::vector<std::vector<size_t>> buckets,
                              std::vector<size_t> sizes, c10::intrusive_ptr<c10d::ProcessGroup> pg,
                              std::vector<bool> sparse, int64_t bucketCap, bool findUnused,
                              std::unordered_map<size_t, std::string> names, int64_t firstBucket) {
  using Params = std::vector<at::Tensor>;
  using Buckets = std::vector<std::vector<size_t>>;
  using Pg = c10::intrusive_ptr<c10d::ProcessGroup>;
  using Names = std::unordered_map<size_t, std::string>;
  using Sparse = std::vector<bool>;
  constexpr bool gradView = false;  // gradient_as_bucket_view
  if constexpr (std::is_constructible_v<R, Params, Buckets, Pg, Sparse, int64_t, bool, bool, Names, int64_t, bool,
                                        bool, std::vector<int64_t>>) {
    return std::make_unique<R>(params, buckets, pg, sparse, bucketCap, findUnused, gradView, names, firstBucket,
                               /*skip_all_reduce_unused_params=*/false, /*use_python_reducer=*/false,
                               std::vector<int64_t>{});
  } else if constexpr (std::is_constructible_v<R, Params, Buckets, Pg, Sparse, int64_t, bool, bool, Names, int64_t,
                                               bool, bool>) {
    return std::make_unique<R>(params, buckets, pg, sparse, bucketCap, findUnused, gradView, names, firstBucket,
                               /*skip_all_reduce_unused_params=*/false, /*use_python_reducer=*/false);
  } else if constexpr (std::is_constructible_v<R, Params, Buckets, Pg, Sparse, int64_t, bool, bool, Names, int64_t,
                                               bool>) {
    return std::make_unique<R>(params, buckets, pg, sparse, bucketCap, findUnused, gradView, names, firstBucket,
                               /*skip_all_reduce_unused_params=*/false);
  } else if constexpr (std::is_constructible_v<R, Params, Buckets, Pg, Sparse, int64_t, bool, bool, Names, int64_t>) {
    return std::make_unique<R>(params, buckets, pg, sparse, bucketCap, findUnused, gradView, names, firstBucket);
  } else {
    return std::make_unique<R>(params, buckets, sizes, pg, sparse, bucketCap, findUnused, gradView, names,
                               firstBucket);
  }
}

struct ReducerBox {
  std::unique_ptr<c10d::Reducer> reducer;
};

Group* group(const Args& a, size_t i) {
  Group* g = a.handle<Group>(i, Handle::Group);
  if (g->destroyed) throw std::runtime_error("the process group was destroyed");
  return g;
}

std::string getStr(const Napi::Object& o, const char* k, const std::string& dflt = "") {
  Napi::Value v = o.Get(k);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : dflt;
}
double getNum(const Napi::Object& o, const char* k, double dflt) {
  Napi::Value v = o.Get(k);
  return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : dflt;
}

c10d::ReduceOp reduceOp(const std::string& op) {
  if (op == "sum") return c10d::ReduceOp::SUM;
  if (op == "max") return c10d::ReduceOp::MAX;
  if (op == "min") return c10d::ReduceOp::MIN;
  if (op == "product") return c10d::ReduceOp::PRODUCT;
  throw std::runtime_error("unknown reduce op '" + op + "' (sum, max, min, product)");
}

c10::intrusive_ptr<c10d::Store> tcpClient(const std::string& host, int port, ms timeout) {
  c10d::TCPStoreOptions o;
  o.port = static_cast<std::uint16_t>(port);
  o.isServer = false;
  o.waitWorkers = false;
  o.timeout = timeout;
  return c10::make_intrusive<c10d::TCPStore>(host, o);
}

// Reads every rank's heartbeat. Some store calls (TCPStore::check) wait for the answer without a
// timeout, so a frozen store host would block forever: the reads run on their own thread, which
// is abandoned (left blocked, detached) when it does not finish in time.
struct HeartbeatRead {
  std::mutex m;
  std::condition_variable cv;
  bool done = false;
  std::string error;
  std::vector<std::vector<double>> beats;  // per rank: {} (none yet) or {counter, step}
};

void readHeartbeats(std::shared_ptr<HeartbeatRead> out, c10::intrusive_ptr<c10d::Store> s, std::string host, int port, int size, ms t) {
  std::vector<std::vector<double>> beats(size);
  std::string error;
  try {
    if (!s) s = tcpClient(host, port, t);
    for (int r = 0; r < size; r++) {
      std::string key = "growbert/hb/" + std::to_string(r);
      if (!s->check({key})) continue;
      auto v = s->get(key);
      std::string str(v.begin(), v.end());
      auto sp = str.find(' ');
      beats[r] = {std::stod(str.substr(0, sp)), sp == std::string::npos ? 0.0 : std::stod(str.substr(sp + 1))};
    }
  } catch (const c10::Error& e) {
    error = e.what_without_backtrace();
  } catch (const std::exception& e) {
    error = e.what();
  }
  std::lock_guard<std::mutex> lock(out->m);
  out->beats = std::move(beats);
  out->error = std::move(error);
  out->done = true;
  out->cv.notify_all();
}

std::shared_ptr<::gloo::transport::Device> glooDevice(const std::string& host) {
  // As torch.distributed: GLOO_SOCKET_IFNAME names the interface; on one machine the loopback
  // address keeps traffic local (and works without a resolvable hostname); otherwise the
  // address this machine's hostname resolves to.
  if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME")) {
    if (*ifname) return c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
  }
  if (host == "127.0.0.1" || host == "localhost" || host == "::1") return c10d::ProcessGroupGloo::createDeviceForHostname(host == "::1" ? host : "127.0.0.1");
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

c10::intrusive_ptr<c10d::ProcessGroup> wrapBackend(const Group& g) {
#if GB_TORCH_AT_LEAST(2, 0)
  // 2.x: a ProcessGroup holds per-device backends.
  auto type = g.backendName == "nccl" ? c10d::ProcessGroup::BackendType::NCCL : c10d::ProcessGroup::BackendType::GLOO;
  auto dev = g.backendName == "nccl" ? c10::DeviceType::CUDA : c10::DeviceType::CPU;
#if GB_TORCH_AT_LEAST(2, 5)
  auto pg = c10::make_intrusive<c10d::ProcessGroup>(g.store, g.rank, g.size);
#else
  auto pg = c10::make_intrusive<c10d::ProcessGroup>(g.store, g.rank, g.size, c10::make_intrusive<c10d::ProcessGroup::Options>(g.backendName, g.timeout));
#endif
  pg->setDefaultBackend(type);
  pg->setBackend(dev, type, g.backend);
  return pg;
#else
  return g.backend;
#endif
}

}  // namespace

void registerDistributed(Napi::Object exports) {
  GB_OP(exports, "distBackends", {
    Napi::Object o = Napi::Object::New(a.env());
    o.Set("gloo", true);
#ifdef GROWBERT_NCCL
    o.Set("nccl", true);
#else
    o.Set("nccl", false);
#endif
    return o;
  });

  // distInit({backend, store: 'tcp'|'file', host, port, path, rank, worldSize, timeoutMs,
  //           heartbeatMs}) -> process group. Blocks until every rank has joined (or the timeout).
  GB_OP(exports, "distInit", {
    if (!a.info[0].IsObject()) throw std::runtime_error("argument 0 must be an options object");
    Napi::Object o = a.info[0].As<Napi::Object>();
    auto g = std::make_unique<Group>();
    g->rank = static_cast<int>(getNum(o, "rank", -1));
    g->size = static_cast<int>(getNum(o, "worldSize", 0));
    if (g->size < 1 || g->rank < 0 || g->rank >= g->size) throw std::runtime_error("rank " + std::to_string(g->rank) + " is not in [0, " + std::to_string(g->size) + ")");
    g->timeout = ms(static_cast<int64_t>(getNum(o, "timeoutMs", 1800000)));
    g->backendName = getStr(o, "backend", "gloo");
    std::string kind = getStr(o, "store", "tcp");
    if (kind == "tcp") {
      g->host = getStr(o, "host", "127.0.0.1");
      g->port = static_cast<int>(getNum(o, "port", 29500));
      c10d::TCPStoreOptions so;
      so.port = static_cast<std::uint16_t>(g->port);
      so.isServer = g->rank == 0;
      so.numWorkers = static_cast<std::size_t>(g->size);
      so.waitWorkers = true;
      so.timeout = g->timeout;
      g->store = c10::make_intrusive<c10d::TCPStore>(g->host, so);
    } else if (kind == "file") {
      g->host = getStr(o, "host", "127.0.0.1");  // only picks Gloo's interface
      g->filePath = getStr(o, "path");
      if (g->filePath.empty()) throw std::runtime_error("a file store needs a path");
      g->store = c10::make_intrusive<c10d::FileStore>(g->filePath, g->size);
      g->store->setTimeout(g->timeout);
    } else {
      throw std::runtime_error("unknown store '" + kind + "' (tcp or file)");
    }
    auto prefixed = c10::make_intrusive<c10d::PrefixStore>("default_pg", g->store);
    if (g->backendName == "gloo") {
      auto opts = c10d::ProcessGroupGloo::Options::create(g->timeout);
      opts->devices.push_back(glooDevice(g->host));
      g->backend = c10::make_intrusive<c10d::ProcessGroupGloo>(prefixed, g->rank, g->size, opts);
    } else if (g->backendName == "nccl") {
#ifdef GROWBERT_NCCL
      auto opts = c10d::ProcessGroupNCCL::Options::create();
      opts->timeout = g->timeout;
      g->backend = c10::make_intrusive<c10d::ProcessGroupNCCL>(prefixed, g->rank, g->size, opts);
#else
      throw std::runtime_error("this libtorch build has no NCCL; use the gloo backend");
#endif
    } else {
      throw std::runtime_error("unknown backend '" + g->backendName + "' (gloo or nccl)");
    }
    g->pg = wrapBackend(*g);

    auto hb = std::make_shared<Heartbeat>();
    hb->rank = g->rank;
    hb->interval = ms(static_cast<int64_t>(getNum(o, "heartbeatMs", 1000)));
    // Its own connection to a TCP store (a client is one socket); a file store is shared safely.
    hb->store = kind == "tcp" ? tcpClient(g->host, g->port, std::min(g->timeout, ms(10000))) : g->store;
    g->hb = hb;
    std::thread(heartbeatLoop, hb).detach();

    Group* raw = g.release();
    return newExternal(a.env(), raw, Handle::Group, [](Napi::Env, Group* p) {
      p->destroy();
      delete p;
    });
  });

  GB_OP(exports, "distRank", { return Napi::Number::New(a.env(), group(a, 0)->rank); });
  GB_OP(exports, "distWorldSize", { return Napi::Number::New(a.env(), group(a, 0)->size); });
  GB_OP(exports, "distBackendName", { return Napi::String::New(a.env(), group(a, 0)->backendName); });
  GB_OP(exports, "distDestroy", {
    if (a.has(0)) a.handle<Group>(0, Handle::Group)->destroy();
    return a.env().Undefined();
  });

  // Starts an allreduce of one tensor in place; returns its work handle (see distWait).
  GB_OP(exports, "distAllReduce", {
    Group* g = group(a, 0);
    auto w = std::make_unique<WorkBox>();
    w->tensors = {a.T(1)};
    c10d::AllreduceOptions opts;
    opts.reduceOp = reduceOp(a.has(2) ? a.str(2) : "sum");
    w->work = g->backend->allreduce(w->tensors, opts);
    return newExternal(a.env(), w.release(), Handle::Work, [](Napi::Env, WorkBox* p) { delete p; });
  });
  // Waits for a work handle; a failed or timed-out collective throws. timeoutMs 0 = the group's.
  GB_OP(exports, "distWait", {
    WorkBox* w = a.handle<WorkBox>(0, Handle::Work);
    if (!w->work) return a.env().Undefined();
    int64_t t = a.i64(1, 0);
    auto work = w->work;
    if (t > 0) work->wait(ms(t));
    else work->wait();
    w->work.reset();
    w->tensors.clear();
    return a.env().Undefined();
  });
  GB_OP(exports, "distIsCompleted", {
    WorkBox* w = a.handle<WorkBox>(0, Handle::Work);
    return Napi::Boolean::New(a.env(), !w->work || w->work->isCompleted());
  });

  // Broadcasts tensors from `root` in place, coalesced into buffers (as DDP's initial sync).
  GB_OP(exports, "distBroadcast", {
    Group* g = group(a, 0);
    auto ts = a.list(1);
    int root = static_cast<int>(a.i64(2, 0));
    int64_t bufferBytes = a.i64(3, 256LL << 20);
    if (ts.empty()) return a.env().Undefined();
    c10d::broadcast_coalesced(g->pg, ts, static_cast<size_t>(bufferBytes), root);
    return a.env().Undefined();
  });

  GB_OP(exports, "distBarrier", {
    Group* g = group(a, 0);
    g->backend->barrier()->wait();
    return a.env().Undefined();
  });

  // The heartbeat publishes this rank's training step next to its counter.
  GB_OP(exports, "distSetStep", {
    Group* g = group(a, 0);
    if (g->hb) g->hb->step = a.i64(1);
    return a.env().Undefined();
  });
  // Every rank's heartbeat as [counter, step], or null where a rank has written none; through a
  // fresh connection, within timeoutMs. Throws when the store does not answer in time.
  GB_OP(exports, "distHeartbeats", {
    Group* g = group(a, 0);
    ms t(a.i64(1, 3000));
    auto res = std::make_shared<HeartbeatRead>();
    std::thread(readHeartbeats, res, g->filePath.empty() ? c10::intrusive_ptr<c10d::Store>() : g->store, g->host, g->port, g->size, t).detach();
    std::unique_lock<std::mutex> lock(res->m);
    if (!res->cv.wait_for(lock, t + ms(500), [&] { return res->done; })) throw std::runtime_error("the rendezvous store did not answer within " + std::to_string(t.count()) + " ms");
    if (!res->error.empty()) throw std::runtime_error(res->error);
    Napi::Array out = Napi::Array::New(a.env(), res->beats.size());
    for (size_t r = 0; r < res->beats.size(); r++) {
      if (res->beats[r].empty()) {
        out.Set(r, a.env().Null());
        continue;
      }
      Napi::Array e = Napi::Array::New(a.env(), 2);
      e.Set(0u, Napi::Number::New(a.env(), res->beats[r][0]));
      e.Set(1u, Napi::Number::New(a.env(), res->beats[r][1]));
      out.Set(r, e);
    }
    return out;
  });

  // DDP's Reducer over `params` (the order gradients are produced in is roughly the reverse):
  // buckets of at most bucketBytes (the first one, reduced first, firstBucketBytes); each bucket's
  // allreduce starts as soon as its gradients are ready, while backward continues. Gradients end
  // up AVERAGED over the ranks (scaled by 1/worldSize before the sum).
  GB_OP(exports, "ddpCreate", {
    Group* g = group(a, 0);
    auto params = a.list(1);
    int64_t firstBucket = a.i64(2, 1 << 20);
    int64_t bucketCap = a.i64(3, 25 << 20);
    bool findUnused = a.flag(4, false);
    if (params.empty()) throw std::runtime_error("no parameters");
    // As torch's DistributedDataParallel: assign buckets in parameter order, then reverse them
    // so the first bucket holds the last parameters (whose gradients come first).
    std::vector<size_t> limits = {static_cast<size_t>(firstBucket), static_cast<size_t>(bucketCap)};
    std::vector<bool> sparse(params.size(), false);
    auto assignment = c10d::compute_bucket_assignment_by_size(params, limits, sparse);
    std::vector<std::vector<size_t>> buckets = std::get<0>(assignment);
    std::vector<size_t> sizes = std::get<1>(assignment);
    std::reverse(buckets.begin(), buckets.end());
    std::reverse(sizes.begin(), sizes.end());
    std::unordered_map<size_t, std::string> names;
    auto r = std::make_unique<ReducerBox>();
    r->reducer = newReducer<c10d::Reducer>(params, buckets, sizes, g->pg, sparse, bucketCap, findUnused, names,
                                           firstBucket);
    return newExternal(a.env(), r.release(), Handle::Reducer, [](Napi::Env, ReducerBox* p) { delete p; });
  });
  // Before the backward whose gradients are to be reduced (the last micro-batch's).
  GB_OP(exports, "ddpPrepare", {
    ReducerBox* r = a.handle<ReducerBox>(0, Handle::Reducer);
    if (!r->reducer) throw std::runtime_error("the reducer was destroyed");
    r->reducer->prepare_for_backward(a.has(1) ? a.list(1) : std::vector<at::Tensor>{});
    return a.env().Undefined();
  });
  // Once, after the first reduced backward: re-buckets parameters in the order their gradients
  // actually arrived (rank 0's order, broadcast). Collective: every rank calls it at the same point.
  GB_OP(exports, "ddpRebuildBuckets", {
    ReducerBox* r = a.handle<ReducerBox>(0, Handle::Reducer);
    if (!r->reducer) throw std::runtime_error("the reducer was destroyed");
    return Napi::Boolean::New(a.env(), r->reducer->rebuild_buckets());
  });
  GB_OP(exports, "ddpDestroy", {
    if (a.has(0)) a.handle<ReducerBox>(0, Handle::Reducer)->reducer.reset();
    return a.env().Undefined();
  });
}

}  // namespace gb
