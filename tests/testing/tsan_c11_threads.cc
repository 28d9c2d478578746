// C11 thread creation and joining for ThreadSanitizer builds only (linked into every executable
// when CMAKE_CXX_FLAGS has -fsanitize=thread; see the top-level CMakeLists.txt).
//
// Debian's librdkafka starts its threads with C11 thrd_create, which glibc implements by
// calling its internal pthread_create: GCC 12's ThreadSanitizer runtime intercepts neither, so
// those threads run without TSan's per-thread state and the first allocation on one of them
// crashes inside the TSan allocator. Defining thrd_create/thrd_join/thrd_detach in the executable
// (the dynamic linker binds librdkafka's references to these) routes them through the
// intercepted pthread functions, exactly as glibc's own versions do internally.
#include <pthread.h>
#include <threads.h>

#include <cerrno>
#include <cstdint>

extern "C" {

int thrd_create(thrd_t* thr, thrd_start_t func, void* arg) {
  // glibc does the same cast: a C11 thread's int result travels as the pthread's void*.
  int err = pthread_create(reinterpret_cast<pthread_t*>(thr), nullptr,
                           reinterpret_cast<void* (*)(void*)>(func), arg);
  if (err == 0) return thrd_success;
  return err == EAGAIN ? thrd_nomem : thrd_error;
}

int thrd_join(thrd_t thr, int* res) {
  void* out = nullptr;
  if (pthread_join(static_cast<pthread_t>(thr), &out) != 0) return thrd_error;
  if (res != nullptr) *res = static_cast<int>(reinterpret_cast<intptr_t>(out));
  return thrd_success;
}

int thrd_detach(thrd_t thr) {
  return pthread_detach(static_cast<pthread_t>(thr)) == 0 ? thrd_success : thrd_error;
}

}  // extern "C"
