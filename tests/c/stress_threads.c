/* stress_threads.c -- threads sharing leaves: building, releasing each other's graphs
 * and running backward at once. Built with ThreadSanitizer in CI.
 *
 *   mg_stress_threads [THREADS [ITERATIONS]]
 *
 * Every thread builds y = sum_i w_i * x_i + tanh(w_0) * x_0 over shared leaves w_i
 * and shared node tanh(w_0), with its own integer leaves x_i, runs backward, then
 * swaps its graph into a shared mailbox and releases the one it took out, usually
 * built by another thread. Every eighth iteration it also runs a shared layer over a
 * batch of two rows (mg_mlp_forward_batch), backpropagates their sum, and hands that
 * graph on the same way, keeping one input node of it a little longer (a batch lives
 * while any of its nodes is held). Afterwards each w_i's gradient, and each of the
 * layer's, must be the exact sum of every input used (no lost update), and every node
 * must be freed.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "mg.h"
#include "mg_nn.h"
#include "mg_test_thread.h"

enum { NW = 8 };

static mg_layer *layer;        /* 2 inputs, 1 linear neuron, shared by every thread */
static _Atomic(mg_node *) batch_mailbox;

static mg_node *w[NW];
static mg_node *shared_tanh;   /* tanh(w[0]), shared by every graph */
static _Atomic(mg_node *) mailbox;
static atomic_int ready;       /* threads at the start line: all start together, to overlap */
static int nthreads = 4;
static int iterations = 2000;

typedef struct {
    int id;
    double xsum[NW];    /* what this thread's backward calls added to each w_i */
    double tanh_sum;    /* ... and to shared_tanh */
    double layer_sum[3];   /* ... and to the layer's weights and bias */
    int errors;
} worker;

static double x_value(int id, int it, int i) { return (double)((id * 31 + it * 7 + i) % 5 - 2); }

static void *work(void *arg)
{
    worker *me = arg;
    atomic_fetch_add(&ready, 1);
    while (atomic_load(&ready) < nthreads) mg_test_yield();
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
        mg_release(atomic_exchange(&mailbox, y));

        if (it % 8 == 0) {   /* a batch of two rows through the shared layer */
            double x[4];
            for (int k = 0; k < 4; k++) x[k] = x_value(me->id, it, k);
            mg_node *out[2] = {NULL, NULL}, *sum = NULL;
            if (mg_mlp_forward_batch(&layer, 1, x, 2, out) == MG_OK) sum = mg_sum(out, 2);
            mg_node *input = mg_retain(mg_child(out[1], 2));   /* row 1, input 0 */
            mg_release(out[0]);
            mg_release(out[1]);
            if (!sum || !input || mg_backward(sum) != MG_OK) me->errors++;
            me->layer_sum[0] += x[0] + x[2];
            me->layer_sum[1] += x[1] + x[3];
            me->layer_sum[2] += 2.0;
            mg_release(atomic_exchange(&batch_mailbox, sum));
            if (input && mg_value(input) != x[2]) me->errors++;
            mg_release(input);
        }

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
    if (argc > 1) nthreads = atoi(argv[1]);
    if (argc > 2) iterations = atoi(argv[2]);
    if (nthreads < 1 || nthreads > 64 || iterations < 1) {
        fprintf(stderr, "usage: %s [THREADS (1-64) [ITERATIONS]]\n", argv[0]);
        return 2;
    }
    for (int i = 0; i < NW; i++) w[i] = mg_leaf(0.1 * (i + 1));
    shared_tanh = mg_tanh(w[0]);
    const double init[3] = {0.5, -0.25, 0.125};
    layer = mg_layer_new(2, 1, MG_ACT_LINEAR, init);
    if (!shared_tanh || !layer) return 1;

    static mg_test_thread threads[64];
    worker workers[64] = {{0}};
    for (int t = 0; t < nthreads; t++) {
        workers[t].id = t;
        if (mg_test_thread_start(&threads[t], work, &workers[t], 0) != 0) {
            fprintf(stderr, "cannot start a thread\n");
            return 1;
        }
    }
    for (int t = 0; t < nthreads; t++) mg_test_thread_join(&threads[t]);
    mg_release(atomic_load(&mailbox));
    mg_release(atomic_load(&batch_mailbox));

    int errors = 0;
    double expect[NW] = {0}, expect_tanh = 0, expect_layer[3] = {0};
    for (int t = 0; t < nthreads; t++) {
        errors += workers[t].errors;
        for (int i = 0; i < NW; i++) expect[i] += workers[t].xsum[i];
        expect_tanh += workers[t].tanh_sum;
        for (int i = 0; i < 3; i++) expect_layer[i] += workers[t].layer_sum[i];
    }
    for (int i = 0; i < 3; i++) {   /* sums of small integers: exact */
        if (mg_grad(mg_layer_param(layer, (size_t)i)) != expect_layer[i]) {
            fprintf(stderr, "layer parameter %d: gradient %.17g, expected %.17g\n", i,
                    mg_grad(mg_layer_param(layer, (size_t)i)), expect_layer[i]);
            errors++;
        }
    }
    mg_layer_free(layer);
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
