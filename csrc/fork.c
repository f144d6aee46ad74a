/* fork.c -- fork handlers: a child of fork() finds the core's locks free and the state
 * they guard whole.
 *
 * A child has one thread, a copy of the one that called fork(). A lock that another
 * thread held at that moment would stay taken in the child for ever (no one is left to
 * release it), over state left half changed. So before every fork the prepare handler
 * takes every lock of the core, waiting for any thread inside a locked section to
 * leave it, and the parent and child handlers release them: the use POSIX intends for
 * pthread_atfork. In the child the locks belong to its one thread, the copy of the one
 * that took them, so it may unlock them (re-initialising a locked mutex instead would
 * be undefined behaviour).
 *
 * The order: the backward lock, then the graph lock. The core never holds either while
 * taking the other, so no order can deadlock with it; this one takes the lock held for
 * long first, so that the spin lock, which waiting threads spin for, is held briefly.
 *
 * Registered once, before the first lock of the process is taken (mg_lock.h), with
 * pthread_once rather than a constructor function: pthread_once is POSIX, like fork()
 * and pthread_atfork() themselves, so this works with any compiler wherever fork()
 * exists, while constructors are a GCC and Clang extension, and in a static library
 * one would sit in an object file that a linker may leave out. Because registration
 * comes before any lock is taken, a lock held at a fork was taken after the handlers
 * existed. One gap remains: a fork() while another thread is inside that very first
 * registration. glibc's pthread_once lets the child redo it; a C library whose
 * pthread_once does not (musl) would hang such a child at its first call.
 *
 * Windows has no fork(), and a build without threads (MG_NO_THREADS) has no locks to
 * hand over: nothing here for either.
 */
#if !defined(_WIN32) && !defined(MG_NO_THREADS)
#include "mg_internal.h"
#include "mg_lock.h"

atomic_int mg__fork_handlers_set;

static void prepare(void)
{
    mg__backward_lock();
    mg__graph_lock();
}

static void release(void)
{
    mg__graph_unlock();
    mg__backward_unlock();
}

/* If pthread_atfork fails (out of memory) the flag stays 0: the library works on, only
   a fork may then hang its child, as before this file existed. */
static void register_handlers(void)
{
    if (pthread_atfork(prepare, release, release) == 0)
        atomic_store_explicit(&mg__fork_handlers_set, 1, memory_order_release);
}

void mg__set_fork_handlers(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, register_handlers);
}
#endif
