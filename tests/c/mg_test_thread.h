/* mg_test_thread.h -- starting and joining a thread in the C tests, with POSIX threads
 * or Windows threads (MSVC has no pthreads). A build without threads (MG_NO_THREADS)
 * does not include it.
 */
#ifndef MG_TEST_THREAD_H
#define MG_TEST_THREAD_H

#include <stddef.h>

#ifdef _WIN32
#include <windows.h>
#else
#include <pthread.h>
#include <sched.h>
#endif

typedef struct {
    void *(*fn)(void *);
    void *arg;
#ifdef _WIN32
    HANDLE handle;
#else
    pthread_t id;
#endif
} mg_test_thread;

#ifdef _WIN32
static DWORD WINAPI mg_test_thread_main(LPVOID t)
{
    ((mg_test_thread *)t)->fn(((mg_test_thread *)t)->arg);
    return 0;
}
#endif

/* Runs fn(arg) on a new thread with a stack of stack_size bytes (0: the default).
   *t must stay where it is until mg_test_thread_join. Returns 0, or -1 on failure. */
static inline int mg_test_thread_start(mg_test_thread *t, void *(*fn)(void *), void *arg,
                                       size_t stack_size)
{
    t->fn = fn;
    t->arg = arg;
#ifdef _WIN32
    t->handle = CreateThread(NULL, stack_size, mg_test_thread_main, t,
                             stack_size ? STACK_SIZE_PARAM_IS_A_RESERVATION : 0, NULL);
    return t->handle ? 0 : -1;
#else
    pthread_attr_t attr;
    if (pthread_attr_init(&attr) != 0) return -1;
    if (stack_size) pthread_attr_setstacksize(&attr, stack_size);
    int rc = pthread_create(&t->id, &attr, fn, arg);
    pthread_attr_destroy(&attr);
    return rc == 0 ? 0 : -1;
#endif
}

/* Waits for the thread to end. Returns 0, or -1 on failure. */
static inline int mg_test_thread_join(mg_test_thread *t)
{
#ifdef _WIN32
    int ok = WaitForSingleObject(t->handle, INFINITE) == WAIT_OBJECT_0;
    CloseHandle(t->handle);
    return ok ? 0 : -1;
#else
    return pthread_join(t->id, NULL) == 0 ? 0 : -1;
#endif
}

/* Gives the CPU to another thread. */
static inline void mg_test_yield(void)
{
#ifdef _WIN32
    SwitchToThread();
#else
    sched_yield();
#endif
}

#endif /* MG_TEST_THREAD_H */
