/* mg_lock.h -- the core's two locks: a mutex (pthreads or Windows SRW locks) for
   long critical sections, a spin lock for short ones. */
#ifndef MG_LOCK_H
#define MG_LOCK_H

#ifdef _WIN32
#include <windows.h>
typedef SRWLOCK mg_lock;
#define MG_LOCK_INIT SRWLOCK_INIT
static inline void mg_lock_acquire(mg_lock *l) { AcquireSRWLockExclusive(l); }
static inline void mg_lock_release(mg_lock *l) { ReleaseSRWLockExclusive(l); }
#else
#include <pthread.h>
typedef pthread_mutex_t mg_lock;
#define MG_LOCK_INIT PTHREAD_MUTEX_INITIALIZER
static inline void mg_lock_acquire(mg_lock *l) { pthread_mutex_lock(l); }
static inline void mg_lock_release(mg_lock *l) { pthread_mutex_unlock(l); }
#endif

/* A lock for critical sections of a few nanoseconds (reference counts): taking it is
   one atomic exchange, where a mutex costs a compare-and-swap and a release with a
   check for waiters. A thread that finds it taken spins briefly, then yields the CPU,
   so a long holder (freeing a huge graph) does not burn the other cores. */
#include <stdatomic.h>
#ifdef _WIN32
static inline void mg__yield(void) { SwitchToThread(); }
#else
#include <sched.h>
static inline void mg__yield(void) { sched_yield(); }
#endif

typedef struct { atomic_int taken; } mg_spin;
#define MG_SPIN_INIT {0}

static inline void mg_spin_acquire(mg_spin *l)
{
    unsigned spins = 0;
    while (atomic_exchange_explicit(&l->taken, 1, memory_order_acquire)) {
        while (atomic_load_explicit(&l->taken, memory_order_relaxed))
            if (++spins > 100) mg__yield();
    }
}

static inline void mg_spin_release(mg_spin *l)
{
    atomic_store_explicit(&l->taken, 0, memory_order_release);
}

#endif /* MG_LOCK_H */
