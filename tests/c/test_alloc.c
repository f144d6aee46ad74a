/* test_alloc.c -- the allocator contract and allocation failure.
 *
 * The fail-nth tests run a piece of work with its n-th allocation failing, for
 * n = 1, 2, ... until a run asks for fewer than n allocations, in two modes: only the
 * n-th request fails (a transient shortage), or it and every later one does (memory is
 * gone). After every run the work must have reported failure if any request failed,
 * and the live node count and the allocator's outstanding blocks and bytes must be
 * back where they started: nothing leaked, nothing freed twice.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "counting_alloc.h"
#include "mg_nn.h"
#include "mg_test.h"

static counting_alloc counter;

static int install_counter(void)
{
    memset(&counter, 0, sizeof counter);
    mg_allocator a = counting_allocator(&counter);
    return mg_set_allocator(&a);
}

/* One attempt of the work: 1 if it succeeded, 0 if it reported failure. It must give
   back everything it made, whichever way it ends. */
typedef int (*attempt_fn)(void *state);

/* Returns the number of allocations a full success needed, or 0 after a failed check. */
static size_t fail_each_allocation(const char *what, attempt_fn attempt, void *state)
{
    size_t needed = 0;
    for (int fail_after = 0; fail_after <= 1; fail_after++) {
        for (size_t n = 1;; n++) {
            mg_trim();
            size_t live0 = mg_live_nodes(), blocks0 = counter.blocks,
                   bytes0 = counter.bytes;
            counting_alloc_reset(&counter, n, fail_after);
            int ok = attempt(state);
            size_t failures = counter.failures, requests = counter.requests;
            counting_alloc_reset(&counter, 0, 0);
            mg_trim();
            int bad = 0;
            if (failures && ok) {
                mg_test_fail(__FILE__, __LINE__, "%s: allocation %zu failed, success reported",
                             what, n);
                bad = 1;
            }
            if (!failures && !ok) {
                mg_test_fail(__FILE__, __LINE__, "%s: failed with no allocation failing", what);
                bad = 1;
            }
            if (mg_live_nodes() != live0 || counter.blocks != blocks0 ||
                counter.bytes != bytes0 || counter.bad_free) {
                mg_test_fail(__FILE__, __LINE__,
                             "%s, allocation %zu failing%s: live nodes %zu -> %zu, blocks "
                             "%zu -> %zu, bytes %zu -> %zu, bad free %d",
                             what, n, fail_after ? " (and after)" : "", live0,
                             mg_live_nodes(), blocks0, counter.blocks, bytes0, counter.bytes,
                             counter.bad_free);
                bad = 1;
            }
            if (bad || mg_test_failures) return 0;
            if (!failures) {
                needed = requests;
                break;
            }
        }
    }
    return needed;
}

void test_alloc_set_allocator_contract(void)
{
    counting_alloc c = {0};
    mg_allocator a = counting_allocator(&c);
    mg_allocator incomplete = a;
    incomplete.realloc_fn = NULL;
    CHECK_EQ_INT(mg_set_allocator(&incomplete), MG_EINVAL);
    incomplete = a;
    incomplete.free_fn = NULL;
    CHECK_EQ_INT(mg_set_allocator(&incomplete), MG_EINVAL);

    mg_node *alive = mg_leaf(1.0);   /* from the C library's malloc */
    REQUIRE(alive);
    CHECK_EQ_INT(mg_set_allocator(&a), MG_EINVAL);   /* it must go back to free() */
    mg_node *still = mg_leaf(2.0);
    CHECK_EQ_INT(c.requests, 0);                      /* the refused call changed nothing */
    mg_release(still);
    mg_release(alive);

    CHECK_EQ_INT(mg_set_allocator(&a), MG_OK);
    mg_node *n = mg_leaf(3.0);
    CHECK_EQ_INT(c.blocks, 1);
    CHECK_EQ_INT(mg_set_allocator(NULL), MG_EINVAL);
    mg_release(n);
    CHECK_EQ_INT(c.blocks, 0);
    CHECK_EQ_INT(mg_set_allocator(NULL), MG_OK);
    CHECK_EQ_INT(mg_set_allocator(NULL), MG_OK);     /* idempotent */
    CHECK(!c.bad_free);
}

/* An optimizer over no parameters holds memory but no node: the installed allocator
   must still not be left while it lives. */
void test_alloc_set_allocator_waits_for_every_block(void)
{
    counting_alloc c = {0};
    mg_allocator a = counting_allocator(&c);
    REQUIRE(mg_set_allocator(&a) == MG_OK);
    mg_optimizer *opt = mg_sgd_new(NULL, 0, 0.0, 0.0);
    REQUIRE(opt != NULL);
    CHECK_EQ_INT(mg_live_nodes(), 0);
    CHECK(c.blocks > 0);
    CHECK_EQ_INT(mg_set_allocator(NULL), MG_EINVAL);
    mg_optimizer_free(opt);
    CHECK_EQ_INT(c.blocks, 0);
    CHECK_EQ_INT(mg_set_allocator(NULL), MG_OK);
    CHECK(!c.bad_free);
}

/* Nodes and mg_backward's work arrays all come from the installed allocator, which
   never sees a size of 0 or a NULL pointer to free. */
void test_alloc_everything_goes_through_allocator(void)
{
    REQUIRE(install_counter() == MG_OK);
    mg_node *a = mg_leaf(1.5), *b = mg_leaf(-2.0);
    mg_node *y = mg_tanh(a);
    mg_node *z = mg_mul(y, b);
    REQUIRE(z);
    CHECK_EQ_INT(counter.blocks, 4);
    size_t before = counter.requests;
    CHECK_EQ_INT(mg_backward(z), MG_OK);
    CHECK(counter.requests > before);
    mg_release(z);
    mg_release(y);
    mg_release(a);
    mg_release(b);
    CHECK(counter.blocks > 0);          /* the cached work arrays */
    CHECK_EQ_INT(mg_set_allocator(NULL), MG_OK);   /* gives them back first */
    CHECK_EQ_INT(counter.blocks, 0);
    CHECK_EQ_INT(counter.bytes, 0);
    CHECK(!counter.bad_free);
}

void test_alloc_trim_gives_back_cache(void)
{
    REQUIRE(install_counter() == MG_OK);
    mg_node *x = mg_leaf(2.0);
    mg_node *y = mg_exp(x);
    REQUIRE(y);
    CHECK_EQ_INT(mg_backward(y), MG_OK);
    CHECK(counter.blocks > 2);
    mg_trim();
    CHECK_EQ_INT(counter.blocks, 2);
    mg_trim();                          /* twice is harmless */
    CHECK_EQ_INT(mg_backward(y), MG_OK);   /* and backward allocates afresh */
    CHECK_SAME(mg_grad(x), 2.0 * exp(2.0));
    mg_release(y);
    mg_release(x);
    mg_trim();
    CHECK_EQ_INT(counter.blocks, 0);
    CHECK_EQ_INT(mg_set_allocator(NULL), MG_OK);
}

/* ---- constructors ---------------------------------------------------------------- */

typedef struct {
    int which;
    mg_node *a, *b;
} ctor_state;

enum { NUM_CTORS = 19 };

static mg_node *call_ctor(int which, mg_node *a, mg_node *b)
{
    switch (which) {
    case 0: return mg_leaf(0.5);
    case 1: return mg_add(a, b);
    case 2: return mg_sub(a, b);
    case 3: return mg_mul(a, b);
    case 4: return mg_div(a, b);
    case 5: return mg_pow(a, b);
    case 6: return mg_neg(a);
    case 7: return mg_tanh(a);
    case 8: return mg_relu(a);
    case 9: return mg_exp(a);
    case 10: return mg_log(a);
    case 11: return mg_sigmoid(a);
    case 12: return mg_add_const(a, 2.0);
    case 13: return mg_mul_const(a, 2.0);
    case 14: return mg_div_const(a, 2.0);
    case 15: return mg_pow_const(a, 2.0);
    case 16: return mg_rsub_const(2.0, a);
    case 17: return mg_rdiv_const(2.0, a);
    case 18: return mg_rpow_const(2.0, a);
    }
    return NULL;
}

static int attempt_ctor(void *p)
{
    ctor_state *s = p;
    mg_node *n = call_ctor(s->which, s->a, s->b);
    if (!n) return 0;
    mg_release(n);
    return 1;
}

void test_alloc_fail_nth_constructors(void)
{
    REQUIRE(install_counter() == MG_OK);
    ctor_state s = {0, mg_leaf(1.5), mg_leaf(0.5)};
    REQUIRE(s.a && s.b);
    for (s.which = 0; s.which < NUM_CTORS; s.which++) {
        char what[32];
        snprintf(what, sizeof what, "constructor %d", s.which);
        size_t needed = fail_each_allocation(what, attempt_ctor, &s);
        CHECK_EQ_INT(needed, 1);   /* one node, one allocation */
        if (mg_test_failures) break;
    }
    mg_release(s.a);
    mg_release(s.b);
    CHECK_EQ_INT(counter.blocks, 0);
    CHECK_EQ_INT(mg_set_allocator(NULL), MG_OK);
}

/* ---- an expression, built the way a caller without error checks would ------------- */

/* NULL in, NULL out: a caller may chain calls and test only the final result, as long
   as it releases every intermediate (mg_release ignores NULL). */
static int attempt_expression(void *unused)
{
    (void)unused;
    mg_node *a = mg_leaf(0.7), *b = mg_leaf(-1.2), *c = mg_leaf(2.0);
    mg_node *ab = mg_mul(a, b);
    mg_node *abc = mg_add(ab, c);
    mg_node *t = mg_tanh(abc);
    mg_node *e = mg_exp(a);
    mg_node *e1 = mg_add_const(e, 1.0);
    mg_node *f = mg_div(t, e1);
    int ok = f != NULL && mg_backward(f) == MG_OK;
    if (ok) {
        double de1 = -mg_value(t) / (mg_value(e1) * mg_value(e1));
        double dt = 1.0 / mg_value(e1);
        double dabc = dt * (1.0 - mg_value(t) * mg_value(t));
        double expect_da = dabc * -1.2 + de1 * exp(0.7);
        if (!mg_test_close(mg_grad(a), expect_da, 1e-14)) {
            mg_test_fail(__FILE__, __LINE__, "da = %.17g, expected %.17g", mg_grad(a),
                         expect_da);
        }
    }
    mg_node *all[] = {a, b, c, ab, abc, t, e, e1, f};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) mg_release(all[i]);
    return ok;
}

void test_alloc_fail_nth_expression(void)
{
    REQUIRE(install_counter() == MG_OK);
    size_t needed = fail_each_allocation("expression", attempt_expression, NULL);
    CHECK(needed >= 9 + 2);   /* nine nodes and backward's two work arrays */
    CHECK_EQ_INT(counter.blocks, 0);
    CHECK_EQ_INT(mg_set_allocator(NULL), MG_OK);
}

/* ---- backward: MG_ENOMEM changes no gradient -------------------------------------- */

typedef struct {
    mg_node *root;
    mg_node **nodes;     /* every node of the graph */
    double *before;      /* gradients before the attempt (arbitrary, nonzero) */
    double *delta;       /* what one successful backward adds */
    size_t count;
} backward_state;

static int attempt_backward(void *p)
{
    backward_state *s = p;
    for (size_t i = 0; i < s->count; i++) mg_set_grad(s->nodes[i], s->before[i]);
    int rc = mg_backward(s->root);
    for (size_t i = 0; i < s->count; i++) {
        double expect = rc == MG_OK ? s->before[i] + s->delta[i] : s->before[i];
        if (memcmp(&expect, &(double){mg_grad(s->nodes[i])}, sizeof expect) != 0) {
            mg_test_fail(__FILE__, __LINE__, "node %zu: gradient %.17g, expected %.17g (rc %d)",
                         i, mg_grad(s->nodes[i]), expect, rc);
            break;
        }
    }
    if (rc != MG_OK && rc != MG_ENOMEM) {
        mg_test_fail(__FILE__, __LINE__, "mg_backward returned %d", rc);
    }
    return rc == MG_OK;
}

/* A graph of n nodes (n >= 1) with reuse: node i combines node i-1 with an earlier one. */
static void build_graph(backward_state *s, size_t n)
{
    s->nodes = malloc(n * sizeof *s->nodes);
    s->before = malloc(n * sizeof *s->before);
    s->delta = malloc(n * sizeof *s->delta);
    s->count = n;
    s->nodes[0] = mg_leaf(0.9);
    for (size_t i = 1; i < n; i++) {
        mg_node *prev = s->nodes[i - 1], *other = s->nodes[(i * 7919) % i];
        switch (i % 4) {
        case 0: s->nodes[i] = mg_tanh(prev); break;
        case 1: s->nodes[i] = mg_mul(prev, other); break;
        case 2: s->nodes[i] = mg_add(prev, other); break;
        default: s->nodes[i] = mg_mul_const(prev, 0.5); break;
        }
    }
    s->root = s->nodes[n - 1];
    for (size_t i = 0; i < n; i++) s->before[i] = 0.25 * (double)(i % 13) - 1.0;
    for (size_t i = 0; i < n; i++) mg_set_grad(s->nodes[i], 0.0);
    mg_backward(s->root);
    for (size_t i = 0; i < n; i++) s->delta[i] = mg_grad(s->nodes[i]);
}

static void free_graph(backward_state *s)
{
    for (size_t i = 0; i < s->count; i++) mg_release(s->nodes[i]);
    free(s->nodes);
    free(s->before);
    free(s->delta);
}

void test_alloc_fail_nth_backward(void)
{
    REQUIRE(install_counter() == MG_OK);
    /* sizes on both sides of the work arrays' first capacities (1024, 2048, 4096) */
    const size_t sizes[] = {1, 2, 50, 1024, 1025, 5000};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        backward_state s;
        build_graph(&s, sizes[k]);
        int built = 1;
        for (size_t i = 0; i < s.count; i++) built &= s.nodes[i] != NULL;
        REQUIRE(built);
        char what[48];
        snprintf(what, sizeof what, "backward over %zu nodes", sizes[k]);
        size_t needed = fail_each_allocation(what, attempt_backward, &s);
        CHECK(needed >= 2);
        free_graph(&s);
        if (mg_test_failures) break;
    }
    mg_trim();
    CHECK_EQ_INT(counter.blocks, 0);
    CHECK_EQ_INT(mg_set_allocator(NULL), MG_OK);
}

/* ---- a whole training step of a small network ------------------------------------- */

/* The parameters of MLP(3, [4, 1]) in one array: w1 (4 x 3), b1 (4), w2 (4), b2. */
enum { NPARAMS = 21 };
#define W1(p, j) (&(p)[(j) * 3])
#define B1(p, j) ((p)[12 + (j)])
#define W2(p) (&(p)[16])
#define B2(p) ((p)[20])

static const double xs[4][3] = {{2, 3, -1}, {3, -1, 0.5}, {0.5, 1, 1}, {1, 1, -1}};
static const double ys[4] = {1, -1, -1, 1};

static mg_node *neuron(mg_node *const *w, mg_node *b, mg_node *const *in, size_t nin)
{
    mg_node *acc = mg_retain(b);
    for (size_t i = 0; i < nin; i++) {
        mg_node *p = mg_mul(w[i], in[i]);
        mg_node *s = mg_add(acc, p);
        mg_release(p);
        mg_release(acc);
        acc = s;
    }
    mg_node *out = mg_tanh(acc);
    mg_release(acc);
    return out;
}

/* Forward over the four samples, squared-error loss, backward, SGD update: on any
   failure the parameters must be exactly as before. */
static int attempt_training_step(void *p)
{
    mg_node **params = p;
    mg_node *loss = mg_leaf(0.0);
    for (int k = 0; k < 4; k++) {
        mg_node *in[3], *h[4];
        for (int i = 0; i < 3; i++) in[i] = mg_leaf(xs[k][i]);
        for (int j = 0; j < 4; j++) h[j] = neuron(W1(params, j), B1(params, j), in, 3);
        mg_node *y = neuron(W2(params), B2(params), h, 4);
        mg_node *d = mg_add_const(y, -ys[k]);
        mg_node *sq = mg_mul(d, d);
        mg_node *l = mg_add(loss, sq);
        mg_node *tmp[] = {in[0], in[1], in[2], h[0], h[1], h[2], h[3], y, d, sq, loss};
        for (size_t i = 0; i < sizeof tmp / sizeof tmp[0]; i++) mg_release(tmp[i]);
        loss = l;
    }
    int ok = loss != NULL && mg_backward(loss) == MG_OK;
    mg_release(loss);
    for (size_t i = 0; i < NPARAMS; i++) {
        if (ok) mg_set_value(params[i], mg_value(params[i]) - 0.05 * mg_grad(params[i]));
        if (mg_grad(params[i]) != 0.0 && !ok) {
            mg_test_fail(__FILE__, __LINE__, "parameter %zu got a gradient from a failed step",
                         i);
        }
        mg_set_grad(params[i], 0.0);
    }
    return ok;
}

void test_alloc_fail_nth_training_step(void)
{
    REQUIRE(install_counter() == MG_OK);
    mg_node *params[NPARAMS];
    for (size_t i = 0; i < NPARAMS; i++) params[i] = mg_leaf(sin(1.0 + (double)i));
    size_t needed = fail_each_allocation("training step", attempt_training_step, params);
    CHECK(needed > 100);
    for (size_t i = 0; i < NPARAMS; i++) mg_release(params[i]);
    mg_trim();
    CHECK_EQ_INT(counter.blocks, 0);
    CHECK_EQ_INT(mg_set_allocator(NULL), MG_OK);
}

/* ---- mg_nn.h: layers, forward passes, losses, optimizers -------------------------- */

/* Layers built, run forward (one at a time, as an MLP, over a batch), a loss of every
   kind, backward, and an optimizer step: every failure reported, nothing left. */
static int attempt_nn(void *unused)
{
    (void)unused;
    int ok = 1;
    mg_layer *l1 = mg_layer_new(3, 4, MG_ACT_TANH, NULL);
    mg_layer *l2 = mg_layer_new(4, 2, MG_ACT_RELU, NULL);
    mg_node *in[3] = {mg_leaf(2.0), mg_leaf(3.0), mg_leaf(-1.0)};
    mg_node *h[4] = {NULL}, *out[2] = {NULL}, *batch[4] = {NULL}, *loss[6] = {NULL};
    mg_optimizer *opt = NULL;
    const double x[6] = {2, 3, -1, 0.5, 1, 1};
    const double target[2] = {1.0, -1.0};
    const size_t label[1] = {1};
    if (!l1 || !l2 || !in[0] || !in[1] || !in[2]) {
        ok = 0;
        goto done;
    }
    mg_layer *layers[2] = {l1, l2};
    if (mg_layer_forward(l1, in, h) != MG_OK || mg_mlp_forward(layers, 2, in, out) != MG_OK ||
        mg_mlp_forward_batch(layers, 2, x, 2, batch) != MG_OK) {
        ok = 0;
        goto done;
    }
    loss[0] = mg_sse_loss(out, target, 2);
    loss[1] = mg_mse_loss(batch, target, 2);
    loss[2] = mg_hinge_loss(out, target, 2);
    loss[3] = mg_cross_entropy_loss(out, label, 1, 2);
    loss[4] = mg_l2_penalty(h, 4, 0.1);
    loss[5] = mg_sum(loss, 5);
    if (!loss[5] || mg_backward(loss[5]) != MG_OK) {
        ok = 0;
        goto done;
    }
    mg_node *params[20];
    for (size_t i = 0; i < 16; i++) params[i] = mg_layer_param(l1, i);
    for (size_t i = 0; i < 4; i++) params[16 + i] = mg_layer_param(l2, i);
    opt = mg_adam_new(params, 20, 0.9, 0.999, 1e-8, 0.0, 0);
    if (!opt) {
        ok = 0;
        goto done;
    }
    mg_optimizer_step(opt, 0.01);
done:
    mg_optimizer_free(opt);
    for (int i = 0; i < 6; i++) mg_release(loss[i]);
    for (int i = 0; i < 4; i++) mg_release(batch[i]);
    for (int i = 0; i < 2; i++) mg_release(out[i]);
    for (int i = 0; i < 4; i++) mg_release(h[i]);
    for (int i = 0; i < 3; i++) mg_release(in[i]);
    mg_layer_free(l1);
    mg_layer_free(l2);
    return ok;
}

void test_alloc_fail_nth_nn(void)
{
    REQUIRE(install_counter() == MG_OK);
    size_t needed = fail_each_allocation("layers, losses and an optimizer", attempt_nn, NULL);
    CHECK(needed > 20);
    CHECK_EQ_INT(counter.blocks, 0);
    CHECK_EQ_INT(mg_set_allocator(NULL), MG_OK);
}

/* Counts over the limits fail at once: NULL, with no allocation and no read of the
   arrays past what a valid call would read (each array here has one element: ASan
   would catch a read of the rest). So an absurd size costs nothing, however large. */
void test_alloc_counts_over_the_limit_fail_before_allocating(void)
{
    REQUIRE(install_counter() == MG_OK);
    mg_node *x[1] = {mg_leaf(1.0)};
    REQUIRE(x[0]);
    double t[1] = {0.0};
    size_t label[1] = {0};
    size_t over = (size_t)MG_MAX_CHILDREN + 1;
    counting_alloc_reset(&counter, 0, 0);
    CHECK(mg_sum(x, over) == NULL);
    CHECK(mg_sum_squares(x, over) == NULL);
    CHECK(mg_logsumexp(x, over) == NULL);
    CHECK(mg_cross_entropy(x, over, 0) == NULL);
    CHECK(mg_l2_penalty(x, over, 0.1) == NULL);
    CHECK(mg_sse_loss(x, t, over) == NULL);
    CHECK(mg_mse_loss(x, t, over) == NULL);
    CHECK(mg_hinge_loss(x, t, over) == NULL);
    CHECK(mg_bce_with_logits_loss(x, t, over) == NULL);
    CHECK(mg_cross_entropy_loss(x, label, over, 1) == NULL);   /* rows */
    CHECK(mg_cross_entropy_loss(x, label, 1, over) == NULL);   /* classes */
    CHECK(mg_cross_entropy_loss(x, label, SIZE_MAX, SIZE_MAX) == NULL);
    CHECK(mg_layer_new(over, 1, MG_ACT_LINEAR, NULL) == NULL);   /* a neuron's inputs */
    /* 10^10 parameters (more than 2^32 - 1), each count below MG_MAX_CHILDREN */
    CHECK(mg_layer_new(100000, 100000, MG_ACT_TANH, NULL) == NULL);
    CHECK(mg_layer_new(65535, 65538, MG_ACT_TANH, NULL) == NULL);   /* 2^32 + 2^17 */
    CHECK(mg_layer_new(1, SIZE_MAX, MG_ACT_TANH, NULL) == NULL);
    CHECK_EQ_INT(counter.requests, 0);
    mg_release(x[0]);
    CHECK_EQ_INT(mg_set_allocator(NULL), MG_OK);
}
