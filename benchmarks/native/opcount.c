// LD_PRELOAD shim for `MultiLora.Benchmarks host-work`: counts, on the threads that asked to be watched, what a
// training step or a decoded token costs the host around libtorch:
//   [0] native allocations: c10's CPU allocator takes every tensor's storage with posix_memalign;
//   [1] their bytes;
//   [2] item reads: at::Tensor::item<T>() (what TorchSharp's item<T>() and the C++ clip_grad_norm_ call) and
//       at::_ops::item::call, each counted once; on CUDA each is a device -> host synchronisation;
//   [3] host arrays made tensors: at::TensorMaker::make_tensor (TorchSharp's torch.tensor(array)); on CUDA each
//       becomes a host -> device copy, which without pinned memory and non_blocking waits for the device;
//   [4] nonzero: at::_ops::nonzero::call (a data-dependent shape: a synchronisation on CUDA).
// The interposed C++ functions are forwarded unchanged (RTLD_NEXT) with their Itanium x86-64 calling convention:
// class results that are not trivially copyable come back through a hidden first pointer argument. Linux x86-64 only.
// Build: gcc -shared -fPIC -O2 -Wl,-soname,libopcount.so -o libopcount.so opcount.c -ldl
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

enum { ALLOCS, ALLOC_BYTES, ITEMS, HOST_TENSORS, NONZERO, COUNTERS };
static atomic_long counters[COUNTERS];
static __thread int watched;
static __thread int inside_item;

void opcount_watch_this_thread(int on) { watched = on; }
void opcount_read(long *out) { for (int i = 0; i < COUNTERS; i++) out[i] = atomic_load(&counters[i]); }

#define COUNT(i, n) do { if (watched) atomic_fetch_add(&counters[i], (n)); } while (0)
// The next definition: libc's through RTLD_NEXT; libtorch's from the already loaded libtorch_cpu (.NET loads it
// RTLD_LOCAL, so RTLD_NEXT does not see it, while libLibTorchSharp's calls still bind to this preloaded shim first).
static void *next_symbol(const char *name) {
    void *s = dlsym(RTLD_NEXT, name);
    if (s) return s;
    void *h = dlopen("libtorch_cpu.so", RTLD_LAZY | RTLD_NOLOAD);
    if (h) s = dlsym(h, name);
    if (!s) abort();
    return s;
}
#define REAL(fn_type, name) typedef fn_type; static real_t real_; if (!real_) real_ = (real_t)next_symbol(name)

int posix_memalign(void **p, size_t alignment, size_t n) {
    REAL(int (*real_t)(void **, size_t, size_t), "posix_memalign");
    COUNT(ALLOCS, 1); COUNT(ALLOC_BYTES, (long)n);
    return real_(p, alignment, n);
}

// at::Tensor::item<T>() const: `this` in, T out in a register
#define ITEM(T, mangled) \
    T mangled(const void *self) { \
        REAL(T (*real_t)(const void *), #mangled); \
        COUNT(ITEMS, 1); inside_item++; T v = real_(self); inside_item--; return v; }
ITEM(float, _ZNK2at6Tensor4itemIfEET_v)
ITEM(double, _ZNK2at6Tensor4itemIdEET_v)
ITEM(long, _ZNK2at6Tensor4itemIlEET_v)
ITEM(int, _ZNK2at6Tensor4itemIiEET_v)
ITEM(short, _ZNK2at6Tensor4itemIsEET_v)
ITEM(_Bool, _ZNK2at6Tensor4itemIbEET_v)
ITEM(signed char, _ZNK2at6Tensor4itemIaEET_v)
ITEM(unsigned char, _ZNK2at6Tensor4itemIhEET_v)
ITEM(uint16_t, _ZNK2at6Tensor4itemIN3c104HalfEEET_v)
ITEM(uint16_t, _ZNK2at6Tensor4itemIN3c108BFloat16EEET_v)

// c10::Scalar at::_ops::item::call(const at::Tensor&): result through the hidden pointer
void *_ZN2at4_ops4item4callERKNS_6TensorE(void *result, const void *self) {
    REAL(void *(*real_t)(void *, const void *), "_ZN2at4_ops4item4callERKNS_6TensorE");
    if (!inside_item) COUNT(ITEMS, 1);
    return real_(result, self);
}

// at::Tensor at::TensorMaker::make_tensor()
void *_ZN2at11TensorMaker11make_tensorEv(void *result, void *self) {
    REAL(void *(*real_t)(void *, void *), "_ZN2at11TensorMaker11make_tensorEv");
    COUNT(HOST_TENSORS, 1);
    return real_(result, self);
}

// at::Tensor at::_ops::nonzero::call(const at::Tensor&)
void *_ZN2at4_ops7nonzero4callERKNS_6TensorE(void *result, const void *self) {
    REAL(void *(*real_t)(void *, const void *), "_ZN2at4_ops7nonzero4callERKNS_6TensorE");
    COUNT(NONZERO, 1);
    return real_(result, self);
}
