// Activations are freed and reallocated every training step. With glibc's default malloc
// settings, blocks of a few MB come from fresh mmap()s or are trimmed back to the OS, so every
// step pays page faults on them again (elementwise ops measured several times slower than in
// the same libtorch called from C++). Keeping such blocks in the heap avoids that. This runs
// when the addon is loaded.
#ifdef __GLIBC__
#include <malloc.h>

namespace {
struct MallocTuning {
  MallocTuning() {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);  // glibc's maximum on 64-bit
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
  }
} tuning;
}  // namespace
#endif
