/* mg_lock.h -- the core's two kinds of lock: a mutex (pthreads or Windows SRW locks)
   for long critical sections, a spin lock for short ones. Built with MG_NO_THREADS
   (targets without threads, such as wasm32-wasi) both do nothing: with one thread
   there is nothing to wait for, and such targets have no pthread.h.

   The fork handlers (fork.c) take every lock of the core before a fork() and release
   them after it, so they list them all: a lock added to the core without being added
   there can hang a child of fork(). Taking any lock registers the handlers first.

   Private to the core, as its mg__ names say: not installed, not part of mg.h. */
#ifndef MG_LOCK_H
#define MG_LOCK_H

#ifdef MG_NO_THREADS

typedef struct { char unused; } mg__lock;   /* C forbids an empty struct */
#define MG__LOCK_INIT {0}
static inline void mg__lock_acquire(mg__lock *l) { (void)l; }
static inline void mg__lock_release(mg__lock *l) { (void)l; }

typedef mg__lock mg__spin;
#define MG__SPIN_INIT {0}
static inline void mg__spin_acquire(mg__spin *l) { (void)l; }
static inline void mg__spin_release(mg__spin *l) { (void)l; }

#else   /* threads */
#include <stdatomic.h>

#ifdef _WIN32
#include <windows.h>

static inline void mg__fork_handlers_ready(void) {}   /* Windows has no fork */
static inline void mg__yield(void) { SwitchToThread(); }

typedef SRWLOCK mg__lock;
#define MG__LOCK_INIT SRWLOCK_INIT
static inline void mg__lock_acquire(mg__lock *l) { AcquireSRWLockExclusive(l); }
static inline void mg__lock_release(mg__lock *l) { ReleaseSRWLockExclusive(l); }

#else
#include <pthread.h>
#include <sched.h>

/* fork.c: nonzero once the fork handlers are registered; registers them. */
extern atomic_int mg__fork_handlers_set;
void mg__set_fork_handlers(void);

/* Called before any lock is taken, so that no lock is ever held before the handlers
   that free it in a child exist. After the first time it costs one load and a branch
   always predicted the same way, little next to the atomic exchange of the lock. */
static inline void mg__fork_handlers_ready(void)
{
    if (!atomic_load_explicit(&mg__fork_handlers_set, memory_order_acquire))
        mg__set_fork_handlers();
}

static inline void mg__yield(void) { sched_yield(); }

typedef pthread_mutex_t mg__lock;
#define MG__LOCK_INIT PTHREAD_MUTEX_INITIALIZER
static inline void mg__lock_acquire(mg__lock *l)
{
    mg__fork_handlers_ready();
    pthread_mutex_lock(l);
}
static inline void mg__lock_release(mg__lock *l) { pthread_mutex_unlock(l); }
#endif

/* A lock for critical sections of a few nanoseconds (reference counts): taking it is
   one atomic exchange, where a mutex costs a compare-and-swap and a release with a
   check for waiters. A thread that finds it taken spins briefly, then yields the CPU,
   so a long holder (freeing a huge graph) does not burn the other cores. */
typedef struct { atomic_int taken; } mg__spin;
#define MG__SPIN_INIT {0}

static inline void mg__spin_acquire(mg__spin *l)
{
    unsigned spins = 0;
    mg__fork_handlers_ready();
    while (atomic_exchange_explicit(&l->taken, 1, memory_order_acquire)) {
        while (atomic_load_explicit(&l->taken, memory_order_relaxed))
            if (++spins > 100) mg__yield();
    }
}

static inline void mg__spin_release(mg__spin *l)
{
    atomic_store_explicit(&l->taken, 0, memory_order_release);
}

#endif /* MG_NO_THREADS */
#endif /* MG_LOCK_H */
