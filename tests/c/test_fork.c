/* test_fork.c -- fork() while another thread is inside one of the core's locked sections.
 *
 * A forked child has one thread, a copy of the one that called fork(): a lock that any
 * other thread held at that moment would stay taken in the child for ever. The core's
 * fork handlers (mg_lock.h) make fork() wait until no thread is inside a locked
 * section, so the child can use the library at once and finds its state whole: the
 * mg_backward() that was running has finished, the graph that was being freed is gone.
 *
 * To fork at the worst moment every time rather than by luck, the worker runs with an
 * allocator that stalls its first call from the worker made after the worker arms it:
 * that call comes from inside the locked section (mg_backward's first work array, under
 * the backward lock; the first node freed by mg_release, under the graph lock), so the
 * worker holds the lock for HOLD longer, and the main thread forks meanwhile. Without
 * the handlers the child hangs on its first library call; the parent gives it
 * TIMEOUT_SECONDS, then kills it and fails the test instead of hanging.
 */
#define _POSIX_C_SOURCE 200809L   /* fork, waitpid, kill, nanosleep */
#include "mg_test.h"

#if MG_TEST_FORK   /* the whole file: POSIX with threads only (mg_test.h) */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { NODES = 200000, TIMEOUT_SECONDS = 30 };
static const struct timespec HOLD = {0, 200 * 1000 * 1000};   /* 0.2 s */
static const struct timespec POLL = {0, 1000 * 1000};           /* 1 ms */

/* ---- an allocator that stalls one call from inside a locked section ---------------- */

static _Thread_local int armed;   /* set by the worker just before the locked call */
static atomic_int inside;          /* the stalled call has begun: the lock is held */

static void stall_if_armed(void)
{
    if (!armed) return;
    armed = 0;
    atomic_store(&inside, 1);
    nanosleep(&HOLD, NULL);
}

static void *stall_malloc(size_t size, void *ctx)
{
    (void)ctx;
    stall_if_armed();
    return malloc(size);
}

static void *stall_realloc(void *p, size_t size, void *ctx)
{
    (void)ctx;
    stall_if_armed();
    return realloc(p, size);
}

static void stall_free(void *p, void *ctx)
{
    (void)ctx;
    stall_if_armed();
    free(p);
}

static const mg_allocator stalling = {stall_malloc, stall_realloc, stall_free, NULL};

/* ---- the graph: y = x + x + ... + x, NODES adds over one leaf: dy/dx = NODES + 1 ---- */

static mg_node *x, *y;   /* globals, so that the child can release the worker's share */

static void build(void)
{
    x = mg_leaf(1.0);
    y = mg_retain(x);
    for (size_t i = 0; i < NODES && y; i++) {
        mg_node *next = mg_add(y, x);
        mg_release(y);
        y = next;
    }
}

static int backward_rc;
static atomic_int worker_done;   /* set by the worker last: it is detached (see fork_while) */

static void *backward_worker(void *arg)
{
    (void)arg;
    armed = 1;
    backward_rc = mg_backward(y);
    atomic_store(&worker_done, 1);
    return NULL;
}

static void *release_worker(void *arg)
{
    (void)arg;
    armed = 1;
    mg_release(y);   /* the worker owns y: NODES nodes to free */
    atomic_store(&worker_done, 1);
    return NULL;
}

/* ---- fork, and wait for the child without hanging ----------------------------------- */

/* Waits until *flag is set; 0 if it is not within TIMEOUT_SECONDS. */
static int wait_for(atomic_int *flag)
{
    for (long ms = 0; ms < TIMEOUT_SECONDS * 1000L; ms++) {
        if (atomic_load(flag)) return 1;
        nanosleep(&POLL, NULL);
    }
    return 0;
}

/* The child's exit status, or -1 if it has not ended within TIMEOUT_SECONDS (then it
   is killed) or ended by a signal. */
static int wait_child(pid_t pid)
{
    for (long ms = 0; ms < TIMEOUT_SECONDS * 1000L; ms++) {
        int status;
        pid_t got = waitpid(pid, &status, WNOHANG);
        if (got == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        if (got < 0) return -1;
        nanosleep(&POLL, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

/* What every child does after its own checks: a small graph built and backpropagated
   from scratch, then everything released and the allocator restored, which succeeds
   only if no node is alive and every block has come back (and takes the backward lock,
   through mg_trim). Exits with 0 if every check passed. */
static void child_finish(void)
{
    mg_node *a = mg_leaf(3.0);
    mg_node *b = mg_mul(a, a);
    CHECK(b != NULL);
    CHECK_EQ_INT(mg_backward(b), MG_OK);
    CHECK_SAME(mg_grad(a), 6.0);
    mg_release(b);
    mg_release(a);
    CHECK_EQ_INT(mg_live_nodes(), 0);
    CHECK_EQ_INT(mg_set_allocator(NULL), MG_OK);
    fflush(stdout);
    _exit(mg_test_failures ? 1 : 0);
}

/* Runs worker on its own thread, forks while it is inside the locked section, and runs
   child_checks then child_finish in the child. Returns 0 if the worker has not ended
   (then its graph must be left alone). The worker is detached and signals its
   end with a flag rather than being joined: a joinable thread, which the child cannot
   join, is a thread leak to ThreadSanitizer's check at the child's exit. */
static int fork_while(void *(*worker)(void *), void (*child_checks)(void))
{
    atomic_store(&inside, 0);
    atomic_store(&worker_done, 0);
    pthread_t t;
    if (pthread_create(&t, NULL, worker, NULL) != 0) return 0;
    pthread_detach(t);
    int held = wait_for(&inside);
    CHECK(held);
    fflush(stdout);   /* else the child would print the parent's buffered lines again */
    pid_t pid = held ? fork() : -1;
    if (pid == 0) {
        child_checks();
        child_finish();
    }
    if (held) CHECK(pid > 0);
    int status = pid > 0 ? wait_child(pid) : -1;
    if (pid > 0 && status < 0)
        mg_test_fail(__FILE__, __LINE__, "the child hung (killed after %d s) or crashed",
                     TIMEOUT_SECONDS);
    if (pid > 0 && status > 0) mg_test_fail(__FILE__, __LINE__, "the child exited with %d", status);
    int done = wait_for(&worker_done);
    CHECK(done);
    return done;
}

/* ---- the tests ------------------------------------------------------------------------ */

/* The child finds the backward pass complete (fork waited for it), can run another one
   over the same graph with the inherited work arrays, and frees both threads' share. */
static void after_backward(void)
{
    CHECK_SAME(mg_grad(x), NODES + 1.0);
    CHECK_SAME(mg_grad(y), 1.0);
    CHECK_EQ_INT(mg_backward(y), MG_OK);
    CHECK_SAME(mg_grad(x), 2.0 * (NODES + 1.0));
    mg_release(y);
    mg_release(x);
}

void test_fork_during_backward(void)
{
    REQUIRE(mg_set_allocator(&stalling) == MG_OK);
    build();
    REQUIRE(y && fork_while(backward_worker, after_backward));
    CHECK_EQ_INT(backward_rc, MG_OK);
    CHECK_SAME(mg_grad(x), NODES + 1.0);
    mg_release(y);
    mg_release(x);
    CHECK_EQ_INT(mg_set_allocator(NULL), MG_OK);
}

/* The child finds the graph wholly freed (fork waited for the release): only x lives. */
static void after_release(void)
{
    CHECK_EQ_INT(mg_live_nodes(), 1);
    mg_release(x);
}

void test_fork_while_freeing_a_graph(void)
{
    REQUIRE(mg_set_allocator(&stalling) == MG_OK);
    build();
    REQUIRE(y && fork_while(release_worker, after_release));
    CHECK_EQ_INT(mg_live_nodes(), 1);
    mg_release(x);
    CHECK_EQ_INT(mg_set_allocator(NULL), MG_OK);
}
#endif /* MG_TEST_FORK */
