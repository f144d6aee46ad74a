/* stress_threads.c -- threads sharing leaves: building, releasing each other's graphs
 * and running backward at once. Built with ThreadSanitizer in CI.
 *
 *   mg_stress_threads [THREADS [ITERATIONS]]
 *
 * Every thread builds y = sum_i w_i * x_i + tanh(w_0) * x_0 over shared leaves w_i
 * and shared node tanh(w_0), with its own integer leaves x_i, runs backward, then
 * swaps its graph into a shared mailbox and releases the one it took out, usually
 * built by another thread. Afterwards each w_i's gradient must be the exact sum of
 * every x_i used (no lost update), and every node must be freed.
 */
#define _POSIX_C_SOURCE 200809L   /* pthread_barrier_t */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "mg.h"

enum { NW = 8 };

static mg_node *w[NW];
static mg_node *shared_tanh;   /* tanh(w[0]), shared by every graph */
static mg_node *mailbox;
static pthread_mutex_t mailbox_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t start_line;   /* all threads start together, to overlap */
static int iterations = 2000;

typedef struct {
    int id;
    double xsum[NW];    /* what this thread's backward calls added to each w_i */
    double tanh_sum;    /* ... and to shared_tanh */
    int errors;
} worker;

static double x_value(int id, int it, int i) { return (double)((id * 31 + it * 7 + i) % 5 - 2); }

static void *work(void *arg)
{
    worker *me = arg;
    pthread_barrier_wait(&start_line);
    for (int it = 0; it < iterations; it++) {
        mg_node *acc = mg_leaf(0.0);
        mg_node *x0 = NULL;
        for (int i = 0; i < NW; i++) {
            double xv = x_value(me->id, it, i);
            mg_node *x = mg_leaf(xv);
            mg_node *p = mg_mul(w[i], x);
            mg_node *s = mg_add(acc, p);
            mg_release(p);
            mg_release(acc);
            acc = s;
            if (i == 0) x0 = x;
            else mg_release(x);
        }
        mg_node *t = mg_mul(shared_tanh, x0);
        mg_node *y = mg_add(acc, t);
        mg_release(t);
        mg_release(acc);
        if (!y) {
            me->errors++;
            mg_release(x0);
            continue;
        }
        if (mg_backward(y) != MG_OK) me->errors++;
        for (int i = 0; i < NW; i++) me->xsum[i] += x_value(me->id, it, i);
        me->tanh_sum += x_value(me->id, it, 0);
        /* the x0 leaf was ours alone; its gradient is this graph's business */
        if (mg_grad(x0) != mg_value(w[0]) + mg_value(shared_tanh)) me->errors++;
        mg_release(x0);

        /* hand the graph to whichever thread comes next, and free the previous one */
        pthread_mutex_lock(&mailbox_lock);
        mg_node *old = mailbox;
        mailbox = y;
        pthread_mutex_unlock(&mailbox_lock);
        mg_release(old);

        if (it % 64 == 0) {   /* references taken and dropped on the shared leaves */
            mg_node *r = mg_retain(w[it % NW]);
            if (r != w[it % NW]) me->errors++;
            mg_release(r);
            if (mg_live_nodes() < NW + 1) me->errors++;
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int nthreads = argc > 1 ? atoi(argv[1]) : 4;
    if (argc > 2) iterations = atoi(argv[2]);
    if (nthreads < 1 || nthreads > 64 || iterations < 1) {
        fprintf(stderr, "usage: %s [THREADS (1-64) [ITERATIONS]]\n", argv[0]);
        return 2;
    }
    for (int i = 0; i < NW; i++) w[i] = mg_leaf(0.1 * (i + 1));
    shared_tanh = mg_tanh(w[0]);
    if (!shared_tanh) return 1;

    pthread_t threads[64];
    worker workers[64] = {{0}};
    pthread_barrier_init(&start_line, NULL, (unsigned)nthreads);
    for (int t = 0; t < nthreads; t++) {
        workers[t].id = t;
        if (pthread_create(&threads[t], NULL, work, &workers[t]) != 0) {
            fprintf(stderr, "pthread_create failed\n");
            return 1;
        }
    }
    for (int t = 0; t < nthreads; t++) pthread_join(threads[t], NULL);
    pthread_barrier_destroy(&start_line);
    mg_release(mailbox);

    int errors = 0;
    double expect[NW] = {0}, expect_tanh = 0;
    for (int t = 0; t < nthreads; t++) {
        errors += workers[t].errors;
        for (int i = 0; i < NW; i++) expect[i] += workers[t].xsum[i];
        expect_tanh += workers[t].tanh_sum;
    }
    /* w_0 also gets the path through tanh: d tanh(w0)/d w0 = 1 - tanh^2 */
    double dtanh = 1.0 - mg_value(shared_tanh) * mg_value(shared_tanh);
    expect[0] += expect_tanh * dtanh;
    for (int i = 0; i < NW; i++) {
        double g = mg_grad(w[i]);
        if (fabs(g - expect[i]) > 1e-9 * fmax(1.0, fabs(expect[i]))) {
            fprintf(stderr, "w[%d]: gradient %.17g, expected %.17g\n", i, g, expect[i]);
            errors++;
        }
    }
    if (mg_grad(shared_tanh) != expect_tanh) {
        fprintf(stderr, "tanh(w0): gradient %.17g, expected %.17g\n", mg_grad(shared_tanh),
                expect_tanh);
        errors++;
    }
    mg_release(shared_tanh);
    for (int i = 0; i < NW; i++) mg_release(w[i]);
    if (mg_live_nodes() != 0) {
        fprintf(stderr, "%zu nodes still alive\n", mg_live_nodes());
        errors++;
    }
    mg_trim();
    printf("stress: %d threads x %d iterations, %d errors\n", nthreads, iterations, errors);
    return errors ? 1 : 0;
}
