// A floor under the thread stack sizes that libraries ask for.
//
// Debian's civetweb (used by the HTTP endpoint and prometheus-cpp's
// exposer) creates its threads with 100 KiB stacks. glibc carves a
// thread's static TLS out of its stack, and libtorch's is large enough
// that such threads cannot be created at all (pthread_create: EINVAL). This
// definition, linked into the server binary, takes precedence over glibc's
// for every shared library in the process and raises requests below 1 MiB
// to 1 MiB; larger requests pass through unchanged.
#include <dlfcn.h>
#include <pthread.h>

#include <cstddef>

extern "C" int pthread_attr_setstacksize(pthread_attr_t* attr, size_t size) {
  using Fn = int (*)(pthread_attr_t*, size_t);
  static const Fn real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "pthread_attr_setstacksize"));
  constexpr size_t kFloor = size_t{1} << 20;
  return real(attr, size < kFloor ? kFloor : size);
}
