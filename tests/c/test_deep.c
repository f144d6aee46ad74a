/* test_deep.c -- graphs far deeper than any recursion could walk, run on a thread
 * with a small stack so that a recursive build, backward or free would crash here.
 * Without threads (MG_NO_THREADS) they run on the main thread: under wasm32-wasi its
 * stack is small too (64 KiB, wasm-ld's default). */
#include "counting_alloc.h"
#include "mg_test.h"
#ifndef MG_NO_THREADS
#include "mg_test_thread.h"
#endif

enum { SMALL_STACK = 256 * 1024 };

/* Runs fn(arg) on a thread with a 256 KiB stack. */
static int run_small_stack(void *(*fn)(void *), void *arg)
{
#ifdef MG_NO_THREADS
    fn(arg);
    return 0;
#else
    mg_test_thread t;
    if (mg_test_thread_start(&t, fn, arg, SMALL_STACK) != 0) return -1;
    return mg_test_thread_join(&t);
#endif
}

/* y_0 = x; then alternately y = y * 1 and y = y + x: n nodes above x, and
   dy/dx = 1 + n/2 (every add passes one more path to x). */
static mg_node *chain(mg_node *x, size_t n)
{
    mg_node *y = mg_retain(x);
    for (size_t i = 0; i < n && y; i++) {
        mg_node *next = (i % 2) ? mg_add(y, x) : mg_mul_const(y, 1.0);
        mg_release(y);
        y = next;
    }
    return y;
}

typedef struct {
    size_t n;
    int ok_build, ok_backward;
    double grad, value;
    size_t live_after;
} deep_job;

static void *deep_chain_job(void *arg)
{
    deep_job *job = arg;
    mg_node *x = mg_leaf(1.0);
    mg_node *y = chain(x, job->n);
    job->ok_build = y != NULL && mg_live_nodes() == job->n + 1;
    job->ok_backward = y && mg_backward(y) == MG_OK;
    job->grad = mg_grad(x);
    job->value = y ? mg_value(y) : 0.0;
    mg_release(y);
    mg_release(x);
    job->live_after = mg_live_nodes();
    return NULL;
}

void test_deep_chain_in_small_stack(void)
{
    deep_job job = {.n = 1000000};
    REQUIRE(run_small_stack(deep_chain_job, &job) == 0);
    CHECK(job.ok_build);
    CHECK(job.ok_backward);
    CHECK_SAME(job.grad, 1.0 + job.n / 2);
    CHECK_SAME(job.value, 1.0 + job.n / 2);
    CHECK_EQ_INT(job.live_after, 0);
}

/* One leaf feeding 200,000 products, summed by a chain of adds. */
void test_deep_wide_fan_in(void)
{
    enum { N = 200000 };
    mg_node *x = mg_leaf(2.0);
    mg_node *acc = mg_leaf(0.0);
    double expect = 0.0;
    for (int i = 0; i < N && acc; i++) {
        double c = (i % 7) - 3.0;
        mg_node *p = mg_mul_const(x, c);
        mg_node *s = mg_add(acc, p);
        mg_release(p);
        mg_release(acc);
        acc = s;
        expect += c;
    }
    REQUIRE(acc);
    CHECK_EQ_INT(mg_backward(acc), MG_OK);
    CHECK_SAME(mg_grad(x), expect);
    CHECK_SAME(mg_value(acc), 2.0 * expect);
    mg_release(acc);
    mg_release(x);
}

/* mg_backward keeps its work arrays between calls, except arrays for more than about
   a million nodes, which it gives back at once rather than hold hundreds of MB. */
void test_deep_backward_gives_back_huge_work_arrays(void)
{
    counting_alloc c = {0};
    mg_allocator a = counting_allocator(&c);
    REQUIRE(mg_set_allocator(&a) == MG_OK);

    mg_node *x = mg_leaf(1.0);
    mg_node *small = chain(x, 100);
    REQUIRE(small);
    CHECK_EQ_INT(c.blocks, 101);
    CHECK_EQ_INT(mg_backward(small), MG_OK);
    CHECK(c.blocks > 101);              /* the work arrays stay cached */
    mg_release(small);
    mg_trim();
    CHECK_EQ_INT(c.blocks, 1);

    size_t n = (1u << 20) + 1000;
    mg_node *big = chain(x, n);
    REQUIRE(big);
    CHECK_EQ_INT(mg_backward(big), MG_OK);
    CHECK_EQ_INT(c.blocks, n + 1);      /* nodes only: the big arrays went back */
    CHECK_SAME(mg_grad(x), 1.0 + 51 + n / 2);
    mg_release(big);
    mg_release(x);
    CHECK_EQ_INT(c.blocks, 0);
    CHECK_EQ_INT(c.bytes, 0);
    CHECK(!c.bad_free);
    CHECK_EQ_INT(mg_set_allocator(NULL), MG_OK);
}
