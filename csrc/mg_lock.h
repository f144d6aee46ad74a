/* mg_lock.h -- the one mutex of the core, over pthreads or Windows SRW locks. */
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

#endif /* MG_LOCK_H */
