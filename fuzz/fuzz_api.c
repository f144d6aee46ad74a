/* fuzz_api.c -- turns bytes into a program against the public API and checks it.
 *
 * Each input is a sequence of instructions over 16 slots, each holding one reference
 * to a node or NULL: make leaves, apply every op (also to NULL operands), retain,
 * release, take children, set values and gradients, run backward, build long chains,
 * trim caches, try to change the allocator, and make the n-th allocation from now on
 * fail; and, from mg_nn.h, n-ary nodes and losses over slots, two dense layers (new,
 * forward, neuron, MLP, batch, parameters, free) and an optimizer (SGD or Adam, step,
 * zero_grad, free). Everything runs on a counting allocator. The harness checks, and
 * aborts on:
 *
 *   - every node value against the op's formula at the moment it is made;
 *   - every backward: against a reference reverse pass written independently here
 *     (over the public API: mg_child, mg_op_of, mg_value, mg_constant), gradients of
 *     all reachable nodes; MG_ENOMEM must leave every gradient bit for bit unchanged;
 *   - a constructor may return NULL only for a NULL operand or an injected failure;
 *   - at the end, after releasing every slot: no live node, no outstanding block.
 *
 * Built two ways: with libFuzzer (fuzz/CMakeLists.txt, clang -fsanitize=fuzzer), and
 * with replay_main.c, which runs the corpus and the regression inputs as a test.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "counting_alloc.h"
#include "mg.h"
#include "mg_nn.h"

enum { NSLOTS = 16, MAX_CHAIN = 3000, MAX_REF_NODES = 1 << 14 };

#define FUZZ_CHECK(cond, ...)                                                        \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "fuzz_api.c:%d: check failed: %s: ", __LINE__, #cond);   \
            fprintf(stderr, __VA_ARGS__);                                            \
            fputc('\n', stderr);                                                     \
            abort();                                                                 \
        }                                                                            \
    } while (0)

/* ---- reading the input ------------------------------------------------------------ */
typedef struct {
    const uint8_t *p;
    size_t left;
} reader;

static uint8_t byte(reader *r)
{
    if (!r->left) return 0;
    r->left--;
    return *r->p++;
}

/* Mostly values that matter (zeros, ones, kinks, huge, tiny, inf, nan), sometimes a
   raw double from 8 bytes. */
static double number(reader *r)
{
    static const double table[] = {0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 3.0, 0.1,
                                   1e-300, -1e-310, 1e300, -1e300, 710.0, -745.0,
                                   INFINITY, -INFINITY, NAN, 1e-8, 20.0, -20.0, 0.7, 1.5};
    uint8_t b = byte(r);
    if (b < 0xf0) return table[b % (sizeof table / sizeof table[0])];
    uint64_t bits = 0;
    for (int i = 0; i < 8; i++) bits = (bits << 8) | byte(r);
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

/* ---- the ops, by number ----------------------------------------------------------- */
enum { NBINARY = 5, NUNARY = 6, NCONST = 7 };

static mg_node *binary_op(int k, mg_node *a, mg_node *b)
{
    switch (k % NBINARY) {
    case 0: return mg_add(a, b);
    case 1: return mg_sub(a, b);
    case 2: return mg_mul(a, b);
    case 3: return mg_div(a, b);
    default: return mg_pow(a, b);
    }
}

static mg_node *unary_op(int k, mg_node *a)
{
    switch (k % NUNARY) {
    case 0: return mg_neg(a);
    case 1: return mg_tanh(a);
    case 2: return mg_relu(a);
    case 3: return mg_exp(a);
    case 4: return mg_log(a);
    default: return mg_sigmoid(a);
    }
}

static mg_node *const_op(int k, mg_node *a, double c)
{
    switch (k % NCONST) {
    case 0: return mg_add_const(a, c);
    case 1: return mg_mul_const(a, c);
    case 2: return mg_div_const(a, c);
    case 3: return mg_pow_const(a, c);
    case 4: return mg_rsub_const(c, a);
    case 5: return mg_rdiv_const(c, a);
    default: return mg_rpow_const(c, a);
    }
}

static int same(double a, double b) { return a == b || (isnan(a) && isnan(b)); }

static int bitwise_same(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

/* The value an op must give, from its operands' values when it was made. */
static double expected_value(mg_op op, double a, double b, double c)
{
    switch (op) {
    case MG_OP_ADD: return a + b;
    case MG_OP_SUB: return a - b;
    case MG_OP_MUL: return a * b;
    case MG_OP_DIV: return a / b;
    case MG_OP_POW: return pow(a, b);
    case MG_OP_NEG: return -a;
    case MG_OP_TANH: return tanh(a);
    case MG_OP_RELU: return a > 0 ? a : (isnan(a) ? a : 0.0);
    case MG_OP_EXP: return exp(a);
    case MG_OP_LOG: return log(a);
    case MG_OP_SIGMOID: return a >= 0 ? 1.0 / (1.0 + exp(-a)) : exp(a) / (1.0 + exp(a));
    case MG_OP_ADD_CONST: return a + c;
    case MG_OP_MUL_CONST: return a * c;
    case MG_OP_DIV_CONST: return a / c;
    case MG_OP_POW_CONST: return pow(a, c);
    case MG_OP_RSUB_CONST: return c - a;
    case MG_OP_RDIV_CONST: return c / a;
    case MG_OP_RPOW_CONST: return pow(c, a);
    default: return NAN;
    }
}

/* Checks a node just made from operands a (and b) and constant c. */
static void check_new_node(mg_node *n, mg_op op, mg_node *a, mg_node *b, double c)
{
    FUZZ_CHECK(mg_op_of(n) == op, "op %d, expected %d", mg_op_of(n), op);
    FUZZ_CHECK(mg_grad(n) == 0.0, "a new node has gradient %g", mg_grad(n));
    FUZZ_CHECK(mg_child(n, 0) == a, "child 0");
    FUZZ_CHECK(mg_child_count(n) == 1u + (b != NULL), "child count %zu", mg_child_count(n));
    if (b) FUZZ_CHECK(mg_child(n, 1) == b, "child 1");
    FUZZ_CHECK(mg_child(n, 2) == NULL, "child 2 of a binary op");
    double expect = expected_value(op, mg_value(a), b ? mg_value(b) : 0.0, c);
    FUZZ_CHECK(same(mg_value(n), expect), "%s: value %.17g, expected %.17g", mg_op_name(op),
               mg_value(n), expect);
    if (mg_op_has_constant(op)) FUZZ_CHECK(bitwise_same(mg_constant(n), c), "constant");
}

/* ---- a reference reverse pass, independent of backward.c -------------------------- */

/* Local derivatives of out = op(a, b), written from the math (and PyTorch's choices at
   kinks), as the documentation in mg.h states them. */
static void local_grads(mg_node *n, double *da, double *db)
{
    double out = mg_value(n), c = mg_constant(n);
    mg_node *A = mg_child(n, 0), *B = mg_child(n, 1);
    double a = A ? mg_value(A) : 0.0, b = B ? mg_value(B) : 0.0;
    *da = *db = 0.0;
    switch (mg_op_of(n)) {
    case MG_OP_ADD: *da = 1.0; *db = 1.0; break;
    case MG_OP_SUB: *da = 1.0; *db = -1.0; break;
    case MG_OP_MUL: *da = b; *db = a; break;
    case MG_OP_DIV: *da = 1.0 / b; *db = -(out / b); break;
    case MG_OP_POW:
        *da = b == 0.0 ? 0.0 : b * pow(a, b - 1.0);
        *db = (a == 0.0 && b >= 0.0) ? 0.0 : out * log(a);
        break;
    case MG_OP_NEG: *da = -1.0; break;
    case MG_OP_TANH: *da = 1.0 - out * out; break;
    case MG_OP_RELU: *da = out <= 0.0 ? 0.0 : 1.0; break;
    case MG_OP_EXP: *da = out; break;
    case MG_OP_LOG: *da = 1.0 / a; break;
    case MG_OP_SIGMOID: *da = (1.0 - out) * out; break;
    case MG_OP_ADD_CONST: *da = 1.0; break;
    case MG_OP_MUL_CONST: *da = c; break;
    case MG_OP_DIV_CONST: *da = 1.0 / c; break;
    case MG_OP_POW_CONST: *da = c == 0.0 ? 0.0 : c * pow(a, c - 1.0); break;
    case MG_OP_RSUB_CONST: *da = -1.0; break;
    case MG_OP_RDIV_CONST: *da = -(out / a); break;
    case MG_OP_RPOW_CONST: *da = (c == 0.0 && a >= 0.0) ? 0.0 : out * log(c); break;
    /* mg_nn.h: max(x, 0) - x*t + log(1 + exp(-|x|)), gradient sigmoid(x) - t */
    case MG_OP_BCE_LOGITS: *da = 1.0 / (1.0 + exp(-a)) - c; break;
    default: break;
    }
}

/* log(sum_k exp(child k - hi)), hi the largest child (written to *hi): the
   log-sum-exp of the children less hi, kept apart from hi so that nothing small next
   to hi rounds away (the log-sum-exp of [1e15, 1e15, 0] less 1e15 is log 2). */
static double shifted_logsumexp(mg_node *n, double *hi)
{
    size_t m = mg_child_count(n);
    double top = -INFINITY, s = 0.0;
    for (size_t k = 0; k < m; k++) top = fmax(top, mg_value(mg_child(n, k)));
    for (size_t k = 0; k < m; k++) s += exp(mg_value(mg_child(n, k)) - top);
    *hi = top;
    return log(s);
}

/* d out / d child k, for every op (the n-ary ones of mg_nn.h included). */
static double local_grad(mg_node *n, size_t k)
{
    size_t m = mg_child_count(n);
    double out = mg_value(n);
    mg_op op = mg_op_of(n);
    switch (op) {
    case MG_OP_SUM: return 1.0;
    case MG_OP_SUM_SQUARES: return 2.0 * mg_value(mg_child(n, k));
    case MG_OP_LOGSUMEXP: return exp(mg_value(mg_child(n, k)) - out);   /* softmax */
    case MG_OP_CROSS_ENTROPY: {   /* softmax_k - [k == label], from the children */
        double hi, lse = shifted_logsumexp(n, &hi);
        return exp((mg_value(mg_child(n, k)) - hi) - lse) - (k == (size_t)mg_constant(n));
    }
    case MG_OP_NEURON_LINEAR: case MG_OP_NEURON_TANH:
    case MG_OP_NEURON_RELU: case MG_OP_NEURON_SIGMOID: {
        /* out = act(b + sum_i w_i x_i); children w_0..w_{nin-1}, x_0..x_{nin-1}, b */
        size_t nin = (m - 1) / 2;
        double f = op == MG_OP_NEURON_TANH      ? 1.0 - out * out
                   : op == MG_OP_NEURON_RELU    ? (out <= 0.0 ? 0.0 : 1.0)
                   : op == MG_OP_NEURON_SIGMOID ? (1.0 - out) * out
                                                : 1.0;
        if (k < nin) return f * mg_value(mg_child(n, nin + k));   /* d/dw_k = x_k */
        if (k < 2 * nin) return f * mg_value(mg_child(n, k - nin));   /* d/dx = w */
        return f;                                                  /* d/db */
    }
    default: {
        double da, db;
        local_grads(n, &da, &db);
        return k == 0 ? da : db;
    }
    }
}

/* For the n-ary ops: the value from the children, and the sum of the magnitudes of the
   terms (the scale of a rounding difference). 0 if op is not n-ary. */
static int nary_value(mg_node *n, double *value, double *mag)
{
    size_t m = mg_child_count(n);
    double v = 0.0, s = 0.0;
    mg_op op = mg_op_of(n);
    switch (op) {
    case MG_OP_SUM:
    case MG_OP_SUM_SQUARES:
        for (size_t k = 0; k < m; k++) {
            double x = mg_value(mg_child(n, k));
            double t = op == MG_OP_SUM ? x : x * x;
            v += t;
            s += fabs(t);
        }
        break;
    case MG_OP_LOGSUMEXP: {
        double hi = -INFINITY;
        for (size_t k = 0; k < m; k++) hi = fmax(hi, mg_value(mg_child(n, k)));
        for (size_t k = 0; k < m; k++) v += exp(mg_value(mg_child(n, k)) - hi);
        v = hi + log(v);
        s = fabs(v) + fabs(hi) + 1.0;
        break;
    }
    case MG_OP_CROSS_ENTROPY: {
        double hi, lse = shifted_logsumexp(n, &hi);
        double label = mg_value(mg_child(n, (size_t)mg_constant(n))) - hi;
        v = lse - label;
        s = fabs(lse) + fabs(label) + 1.0;
        break;
    }
    case MG_OP_NEURON_LINEAR: case MG_OP_NEURON_TANH:
    case MG_OP_NEURON_RELU: case MG_OP_NEURON_SIGMOID: {
        size_t nin = (m - 1) / 2;
        v = mg_value(mg_child(n, 2 * nin));
        s = fabs(v);
        for (size_t k = 0; k < nin; k++) {
            double t = mg_value(mg_child(n, k)) * mg_value(mg_child(n, nin + k));
            v += t;
            s += fabs(t);
        }
        /* the activation is 1-Lipschitz or less: an error in z stays that small */
        if (op == MG_OP_NEURON_TANH) v = tanh(v);
        if (op == MG_OP_NEURON_RELU) v = v > 0.0 ? v : (isnan(v) ? v : 0.0);
        if (op == MG_OP_NEURON_SIGMOID) v = 1.0 / (1.0 + exp(-v));
        break;
    }
    default: return 0;
    }
    *value = v;
    *mag = s;
    return 1;
}

/* Checks the value of a node made by an n-ary op of mg_nn.h, up to rounding. */
static void check_nary_value(mg_node *n)
{
    double v, mag;
    if (!nary_value(n, &v, &mag) || !isfinite(v) || !isfinite(mag)) return;
    /* rounding in the sum scales with the terms; in the activation, with the value */
    double tol = 1e-9 * mag + 1e-12 * fabs(v) + 1e-300;
    FUZZ_CHECK(fabs(mg_value(n) - v) <= tol, "%s: value %.17g, expected %.17g",
               mg_op_name(mg_op_of(n)), mg_value(n), v);
}

typedef struct {
    mg_node **node;     /* reachable nodes, parents before children */
    double *old_grad;   /* gradient before the backward call */
    double *adj;        /* d(root)/d(node) */
    double *mag;        /* the same with every term made positive: the error scale */
    size_t len;
    mg_node **key;      /* open addressing: key[i] is a node (or NULL) ... */
    size_t *index;      /* ... and index[i] its position in `node` */
    size_t table_cap;
} ref_graph;

/* The table position of n: where it is, or the empty one where it belongs. */
static size_t slot_of(const ref_graph *g, const mg_node *n)
{
    size_t h = (size_t)(((uintptr_t)n >> 4) * 0x9e3779b97f4a7c15ull);
    size_t i = h & (g->table_cap - 1);
    while (g->key[i] && g->key[i] != n) i = (i + 1) & (g->table_cap - 1);
    return i;
}

static void ref_free(ref_graph *g)
{
    free(g->node);
    free(g->old_grad);
    free(g->adj);
    free(g->mag);
    free(g->key);
    free(g->index);
}

/* Every node reachable from root in an order where each node comes after all its
   parents (reverse postorder of an iterative DFS); 0 if there are too many. */
static int ref_collect(ref_graph *g, mg_node *root)
{
    memset(g, 0, sizeof *g);
    g->table_cap = 2 * MAX_REF_NODES;
    g->key = calloc(g->table_cap, sizeof *g->key);
    g->index = calloc(g->table_cap, sizeof *g->index);
    g->node = malloc(MAX_REF_NODES * sizeof *g->node);
    mg_node **stack = malloc(MAX_REF_NODES * sizeof *stack);
    size_t *next_child = malloc(MAX_REF_NODES * sizeof *next_child);
    FUZZ_CHECK(g->key && g->index && g->node && stack && next_child,
               "out of memory in the harness");
    mg_node **post = malloc(MAX_REF_NODES * sizeof *post);
    FUZZ_CHECK(post != NULL, "out of memory in the harness");
    size_t npost = 0, top = 0;
    int ok = 1;
    g->key[slot_of(g, root)] = root;   /* seen; its index is set below */
    g->len = 1;
    stack[top] = root;
    next_child[top++] = 0;
    while (top && ok) {
        mg_node *n = stack[top - 1];
        size_t k = next_child[top - 1]++;
        if (k < mg_child_count(n)) {
            mg_node *c = mg_child(n, k);
            size_t s = slot_of(g, c);
            if (!g->key[s]) {
                if (g->len == MAX_REF_NODES) {
                    ok = 0;
                    break;
                }
                g->key[s] = c;
                g->len++;
                stack[top] = c;
                next_child[top++] = 0;
            }
        } else {
            post[npost++] = n;
            top--;
        }
    }
    free(stack);
    free(next_child);
    if (!ok) {
        free(post);
        ref_free(g);
        return 0;
    }
    /* reverse postorder: every parent before its children */
    for (size_t i = 0; i < npost; i++) {
        mg_node *n = post[npost - 1 - i];
        g->node[i] = n;
        g->index[slot_of(g, n)] = i;
    }
    free(post);
    g->old_grad = malloc(g->len * sizeof *g->old_grad);
    g->adj = calloc(g->len, sizeof *g->adj);
    g->mag = calloc(g->len, sizeof *g->mag);
    FUZZ_CHECK(g->old_grad && g->adj && g->mag, "out of memory in the harness");
    for (size_t i = 0; i < g->len; i++) g->old_grad[i] = mg_grad(g->node[i]);
    return 1;
}

/* Fills adj and mag; returns 0 if anything on the way is not finite (then the
   comparison would depend on the order of nan/inf arithmetic). */
static int ref_backward(ref_graph *g)
{
    int finite = 1;
    g->adj[0] = 1.0;
    g->mag[0] = 1.0;
    for (size_t i = 0; i < g->len; i++) {
        mg_node *n = g->node[i];
        finite &= isfinite(mg_value(n)) && isfinite(g->old_grad[i]);
        for (size_t k = 0; k < mg_child_count(n); k++) {
            size_t j = g->index[slot_of(g, mg_child(n, k))];
            double local = local_grad(n, k);
            g->adj[j] += g->adj[i] * local;
            g->mag[j] += g->mag[i] * fabs(local);
        }
        finite &= isfinite(g->adj[i]) && isfinite(g->mag[i]);
    }
    return finite;
}

/* The ops whose nodes a backward pass has been checked through against the reference,
   over every input this process has run: replay_main.c --every-op fails when the
   inputs leave an op of the library's table out. */
static unsigned char op_checked[256];
int fuzz_op_checked(int op);
int fuzz_op_checked(int op) { return op >= 0 && op < 256 && op_checked[op]; }

/* ---- the interpreter -------------------------------------------------------------- */
static counting_alloc counter;
static mg_node *slot[NSLOTS];
static mg_layer *layer[2];
static mg_optimizer *optimizer;

static void put(int i, mg_node *n)
{
    mg_release(slot[i]);
    slot[i] = n;
}

/* Injected failures since the last check: a NULL from a constructor is fine then. */
static size_t failures_seen;

static int failure_injected(void)
{
    int injected = counter.failures != failures_seen;
    failures_seen = counter.failures;
    return injected;
}

static void do_backward(int i)
{
    mg_node *root = slot[i];
    if (!root) {
        FUZZ_CHECK(mg_backward(NULL) == MG_EINVAL, "backward(NULL)");
        return;
    }
    ref_graph g;
    int have_ref = ref_collect(&g, root);
    failure_injected();
    int rc = mg_backward(root);
    int injected = failure_injected();
    FUZZ_CHECK(rc == MG_OK || (rc == MG_ENOMEM && injected), "backward returned %d", rc);
    if (have_ref) {
        if (rc == MG_ENOMEM) {
            for (size_t k = 0; k < g.len; k++) {
                FUZZ_CHECK(bitwise_same(mg_grad(g.node[k]), g.old_grad[k]),
                           "failed backward changed node %zu's gradient", k);
            }
        } else if (ref_backward(&g)) {
            for (size_t k = 0; k < g.len; k++) {
                op_checked[mg_op_of(g.node[k]) & 255] = 1;
                double expect = g.old_grad[k] + g.adj[k], got = mg_grad(g.node[k]);
                double tol = 1e-9 * (fabs(g.old_grad[k]) + g.mag[k]) + 1e-300;
                if (isfinite(got) && fabs(got - expect) <= tol) continue;
                /* overflow in the library's order but not ours (or back) is rounding */
                if (!isfinite(expect) || fabs(expect) > 1e300) continue;
                FUZZ_CHECK(0, "node %zu (%s): gradient %.17g, reference %.17g (tol %g)", k,
                           mg_op_name(mg_op_of(g.node[k])), got, expect, tol);
            }
        }
        if (rc == MG_OK) {   /* the root's own gradient grows by exactly 1 */
            FUZZ_CHECK(same(mg_grad(root), g.old_grad[0] + 1.0), "root gradient");
        }
        ref_free(&g);
    }
}

/* A chain of n ops from slot i, each on the previous node (and, for binary ops, on the
   start), so that backward's arrays grow and an injected failure can hit anywhere. */
static void do_chain(int dst, int src, size_t n, int kind)
{
    mg_node *start = slot[src];
    mg_node *y = mg_retain(start);
    for (size_t k = 0; k < n && y; k++) {
        mg_node *next;
        switch ((kind + k) % 3) {
        case 0: next = mg_add(y, start); break;
        case 1: next = mg_mul_const(y, 0.5); break;
        default: next = mg_tanh(y); break;
        }
        mg_release(y);
        y = next;
    }
    if (start) FUZZ_CHECK(y || failure_injected(), "chain returned NULL");
    put(dst, y);
}

/* ---- mg_nn.h ----------------------------------------------------------------------- */

/* Up to `max` slots named by the input; *any_null tells whether one of them was empty. */
static size_t read_slots(reader *r, mg_node **out, size_t max, int *any_null)
{
    size_t n = byte(r) % (max + 1);
    *any_null = 0;
    for (size_t i = 0; i < n; i++) {
        out[i] = slot[byte(r) % NSLOTS];
        *any_null |= out[i] == NULL;
    }
    return n;
}

/* A constructor's result: NULL exactly when an argument was invalid or an allocation
   failed (`valid` < 0: the contract leaves it open, e.g. an empty list). */
static void check_made(mg_node *n, int valid, const char *what)
{
    int injected = failure_injected();
    if (valid > 0) FUZZ_CHECK(n || injected, "%s returned NULL", what);
    if (valid == 0) FUZZ_CHECK(!n, "%s accepted an invalid argument", what);
    if (n) check_nary_value(n);
}

static void do_nary(reader *r, int dst)
{
    mg_node *x[8] = {NULL};
    int any_null;
    int kind = byte(r) % 4;
    size_t n = read_slots(r, x, 8, &any_null);
    failure_injected();
    mg_node *out;
    switch (kind) {
    case 0: out = mg_sum(x, n); break;
    case 1: out = mg_sum_squares(x, n); break;
    case 2: out = mg_logsumexp(x, n); break;
    default:   /* one operand: only x[0] counts */
        out = mg_bce_with_logits(n ? x[0] : NULL, number(r));
        any_null = n && !x[0];
        n = n ? 1 : 0;
        break;
    }
    check_made(out, n > 0 && !any_null ? 1 : 0, "n-ary op");
    put(dst, out);
}

static void do_loss(reader *r, int dst)
{
    mg_node *x[9] = {NULL};
    double t[9] = {0.0};
    size_t labels[9];
    int any_null;
    int kind = byte(r) % 6;
    size_t n = read_slots(r, x, kind == 5 ? 9 : 6, &any_null);
    for (size_t i = 0; i < n; i++) t[i] = number(r);
    failure_injected();
    mg_node *out;
    int valid = n == 0 ? -1 : !any_null;
    switch (kind) {
    case 0: out = mg_sse_loss(x, t, n); break;
    case 1: out = mg_mse_loss(x, t, n); break;
    case 2:   /* a label other than -1 or +1 is invalid */
        for (size_t i = 0; i < n; i++)
            if (t[i] != 1.0 && t[i] != -1.0) valid = 0;
        out = mg_hinge_loss(x, t, n);
        break;
    case 3: out = mg_bce_with_logits_loss(x, t, n); break;
    case 4: out = mg_l2_penalty(x, n, t[0]); break;
    default: {   /* rows of k logits; a label of k or more is invalid */
        size_t k = 1 + byte(r) % 3, rows = n / k;
        valid = rows ? 1 : -1;   /* only the rows * k logits used count */
        for (size_t i = 0; i < rows; i++) {
            labels[i] = byte(r) % (k + 1);
            if (labels[i] >= k) valid = 0;
        }
        for (size_t i = 0; i < rows * k; i++)
            if (!x[i]) valid = 0;
        out = mg_cross_entropy_loss(x, labels, rows, k);
        break;
    }
    }
    check_made(out, valid, "loss");
    put(dst, out);
}

static void do_layer_new(reader *r, int which)
{
    size_t nin = 1 + byte(r) % 3, nout = 1 + byte(r) % 3;
    int act = byte(r) % 5;   /* 4 is not an activation */
    double init[12];
    int zeros = byte(r) & 1;
    for (size_t i = 0; i < nout * (nin + 1); i++) init[i] = zeros ? 0.0 : number(r);
    mg_layer_free(layer[which]);
    failure_injected();
    layer[which] = mg_layer_new(nin, nout, (mg_activation)act, zeros ? NULL : init);
    int injected = failure_injected();
    if (act > MG_ACT_SIGMOID) {
        FUZZ_CHECK(!layer[which], "a layer with activation %d", act);
        return;
    }
    FUZZ_CHECK(layer[which] || injected, "mg_layer_new returned NULL");
    if (!layer[which]) return;
    mg_layer *l = layer[which];
    FUZZ_CHECK(mg_layer_nin(l) == nin && mg_layer_nout(l) == nout &&
                   mg_layer_activation(l) == (mg_activation)act &&
                   mg_layer_param_count(l) == nout * (nin + 1),
               "layer shape");
    for (size_t i = 0; i < nout * (nin + 1); i++) {
        mg_node *p = mg_layer_param(l, i);
        FUZZ_CHECK(p && mg_op_of(p) == MG_OP_LEAF, "parameter %zu", i);
        FUZZ_CHECK(bitwise_same(mg_value(p), zeros ? 0.0 : init[i]), "parameter %zu value", i);
    }
    FUZZ_CHECK(mg_layer_param(l, nout * (nin + 1)) == NULL, "parameter out of range");
}

/* Checks an int-returning forward: rc is MG_ENOMEM only after an injected failure,
   MG_OK only when every argument was valid, and outputs are all set or all NULL. */
static void check_forward(int rc, int valid, mg_node **out, size_t nout, const char *what)
{
    int injected = failure_injected();
    FUZZ_CHECK(rc == MG_OK || rc == MG_EINVAL || rc == MG_ENOMEM, "%s returned %d", what, rc);
    if (rc == MG_ENOMEM) FUZZ_CHECK(injected, "%s: MG_ENOMEM with no failure", what);
    if (rc == MG_EINVAL) FUZZ_CHECK(!valid, "%s: MG_EINVAL on valid arguments", what);
    if (!valid) FUZZ_CHECK(rc != MG_OK, "%s accepted invalid arguments", what);
    if (valid && !injected) FUZZ_CHECK(rc == MG_OK, "%s failed (%d)", what, rc);
    for (size_t j = 0; j < nout; j++) {
        if (rc == MG_OK) {
            FUZZ_CHECK(out[j] != NULL, "%s: output %zu is NULL", what, j);
            check_nary_value(out[j]);
        } else {
            FUZZ_CHECK(out[j] == NULL, "%s failed but left output %zu", what, j);
        }
    }
}

/* The nodes of a batch show the graph of one forward pass per sample: each output's
   children are its row's weights, the nodes of the level below for its sample (the
   same nodes for every output of that sample), and its bias; at the bottom, leaves
   holding the inputs. (Their values are checked by check_forward.) */
static void check_batch(mg_layer **layers, size_t nl, const double *x, size_t batch,
                        mg_node **out)
{
    mg_layer *last = layers[nl - 1];
    size_t nin = mg_layer_nin(last), nout = mg_layer_nout(last), nin0 = mg_layer_nin(layers[0]);
    for (size_t k = 0; k < batch * nout; k++) {
        size_t s = k / nout, j = k % nout;
        mg_node *n = out[k];
        FUZZ_CHECK((int)mg_op_of(n) == MG_OP_NEURON_LINEAR + (int)mg_layer_activation(last),
                   "batch output op %d", mg_op_of(n));
        FUZZ_CHECK(mg_child_count(n) == 2 * nin + 1, "batch output children");
        for (size_t i = 0; i <= nin; i++) {
            mg_node *w = mg_child(n, i < nin ? i : 2 * nin);
            FUZZ_CHECK(w == mg_layer_param(last, j * (nin + 1) + i), "batch weight %zu", i);
        }
        FUZZ_CHECK(mg_child(n, 2 * nin + 1) == NULL, "batch child out of range");
        for (size_t i = 0; i < nin; i++) {
            mg_node *c = mg_child(n, nin + i);
            FUZZ_CHECK(c == mg_child(out[s * nout], nin + i), "batch input shared");
            if (nl == 2) {   /* a node of the first layer: its own inputs are below */
                FUZZ_CHECK(mg_child_count(c) == 2 * nin0 + 1, "batch hidden children");
                FUZZ_CHECK(mg_child(c, 2 * nin0) == mg_layer_param(layers[0], i * (nin0 + 1) + nin0),
                           "batch hidden bias");
                c = mg_child(c, nin0 + i % nin0);
            }
            FUZZ_CHECK(mg_op_of(c) == MG_OP_LEAF && mg_child_count(c) == 0, "batch input leaf");
            FUZZ_CHECK(bitwise_same(mg_value(c), x[s * nin0 + (nl == 2 ? i % nin0 : i)]),
                       "batch input value");
        }
    }
}

static void do_forward(reader *r, int dst)
{
    int which = byte(r) & 1, kind = byte(r) % 4;
    mg_layer *l = layer[which];
    if (!l) return;
    size_t nin = mg_layer_nin(l);
    mg_node *in[3], *out[6] = {NULL};
    int any_null = 0;
    for (size_t i = 0; i < nin; i++) {
        in[i] = slot[byte(r) % NSLOTS];
        any_null |= in[i] == NULL;
    }
    size_t nout = 0;
    int rc;
    failure_injected();
    if (kind == 0) {
        nout = mg_layer_nout(l);
        rc = mg_layer_forward(l, in, out);
        check_forward(rc, !any_null, out, nout, "mg_layer_forward");
    } else if (kind == 1) {
        size_t j = byte(r) % (mg_layer_nout(l) + 1);   /* nout itself is out of range */
        nout = 1;
        rc = mg_layer_forward_neuron(l, j, in, out);
        check_forward(rc, !any_null && j < mg_layer_nout(l), out, nout, "forward_neuron");
    } else {
        /* the layer alone, or it then the other one (whose nin may not match) */
        mg_layer *layers[2] = {l, layer[!which]};
        size_t nl = layers[1] && (byte(r) & 1) ? 2 : 1;
        int valid = nl == 1 || mg_layer_nin(layers[1]) == mg_layer_nout(l);
        nout = mg_layer_nout(layers[nl - 1]);
        if (kind == 2) {
            rc = mg_mlp_forward(layers, nl, in, out);
            check_forward(rc, valid && !any_null, out, nout, "mg_mlp_forward");
        } else {
            size_t batch = 1 + (byte(r) & 1);
            double x[6];
            for (size_t i = 0; i < batch * nin; i++) x[i] = number(r);
            nout *= batch;
            rc = mg_mlp_forward_batch(layers, nl, x, batch, out);
            check_forward(rc, valid, out, nout, "mg_mlp_forward_batch");
            if (rc == MG_OK) check_batch(layers, nl, x, batch, out);
        }
    }
    for (size_t j = 0; j < nout; j++) put((dst + (int)j) % NSLOTS, out[j]);
}

static void do_optimizer(reader *r)
{
    int kind = byte(r) % 5;
    if (kind == 0 || kind == 1) {   /* a new SGD or Adam over the non-empty slots */
        mg_node *params[NSLOTS];
        size_t n = 0;
        for (int i = 0; i < NSLOTS; i++)
            if (slot[i]) params[n++] = slot[i];
        double a = number(r), b = number(r);
        mg_optimizer_free(optimizer);
        failure_injected();
        optimizer = kind == 0 ? mg_sgd_new(params, n, a, b)
                              : mg_adam_new(params, n, 0.9, 0.999, 1e-8, a, byte(r) & 1);
        FUZZ_CHECK(optimizer || failure_injected(), "optimizer returned NULL");
    } else if (kind == 2 && optimizer) {
        mg_optimizer_step(optimizer, number(r));
    } else if (kind == 3 && optimizer) {
        mg_optimizer_zero_grad(optimizer);
    } else if (kind == 4) {
        mg_optimizer_free(optimizer);
        optimizer = NULL;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reader r = {data, size};
    memset(&counter, 0, sizeof counter);
    mg_allocator alloc = counting_allocator(&counter);
    FUZZ_CHECK(mg_live_nodes() == 0, "nodes alive before the input");
    FUZZ_CHECK(mg_set_allocator(&alloc) == MG_OK, "set allocator");
    failures_seen = 0;

    while (r.left) {
        uint8_t ins = byte(&r);
        int dst = byte(&r) % NSLOTS, a = byte(&r) % NSLOTS, b = byte(&r) % NSLOTS;
        mg_node *A = slot[a], *B = slot[b];
        switch (ins % 24) {
        case 0: {   /* leaf */
            double v = number(&r);
            mg_node *n = mg_leaf(v);
            FUZZ_CHECK(n || failure_injected(), "leaf returned NULL");
            if (n) FUZZ_CHECK(bitwise_same(mg_value(n), v) && mg_child_count(n) == 0, "leaf");
            put(dst, n);
            break;
        }
        case 1: case 2: {   /* binary op */
            int k = byte(&r);
            mg_node *n = binary_op(k, A, B);
            if (!A || !B) FUZZ_CHECK(!n, "binary op on NULL gave a node");
            else FUZZ_CHECK(n || failure_injected(), "binary op returned NULL");
            if (n) check_new_node(n, (mg_op)(MG_OP_ADD + k % NBINARY), A, B, 0.0);
            put(dst, n);
            break;
        }
        case 3: {   /* unary op */
            int k = byte(&r);
            mg_node *n = unary_op(k, A);
            if (!A) FUZZ_CHECK(!n, "unary op on NULL gave a node");
            else FUZZ_CHECK(n || failure_injected(), "unary op returned NULL");
            if (n) check_new_node(n, (mg_op)(MG_OP_NEG + k % NUNARY), A, NULL, 0.0);
            put(dst, n);
            break;
        }
        case 4: {   /* op with a constant */
            int k = byte(&r);
            double c = number(&r);
            mg_node *n = const_op(k, A, c);
            if (!A) FUZZ_CHECK(!n, "const op on NULL gave a node");
            else FUZZ_CHECK(n || failure_injected(), "const op returned NULL");
            if (n) check_new_node(n, (mg_op)(MG_OP_ADD_CONST + k % NCONST), A, NULL, c);
            put(dst, n);
            break;
        }
        case 5: {   /* another reference to a node */
            mg_node *n = mg_retain(A);
            FUZZ_CHECK(n == A, "retain");
            put(dst, n);
            break;
        }
        case 6: put(a, NULL); break;   /* release */
        case 7: case 8: do_backward(a); break;
        case 9:
            if (A) mg_set_value(A, number(&r));
            break;
        case 10:
            if (A) mg_set_grad(A, number(&r));
            break;
        case 11: {   /* a child, borrowed, then retained into a slot */
            size_t k = byte(&r) % 8;   /* a neuron has up to 7 children here */
            mg_node *c = A ? mg_child(A, k) : NULL;
            if (A) FUZZ_CHECK((c != NULL) == (k < mg_child_count(A)), "child %zu", k);
            put(dst, mg_retain(c));
            break;
        }
        case 12: {   /* the n-th allocation from now fails (and maybe all after it) */
            uint8_t n = byte(&r);
            counter.fail_at = n ? counter.requests + n : 0;
            counter.fail_after = n & 1;
            break;
        }
        case 13: {   /* a chain of up to MAX_CHAIN ops */
            size_t lo = byte(&r);
            size_t hi = byte(&r) & 0xf;
            do_chain(dst, a, (lo | hi << 8) % MAX_CHAIN, b);
            break;
        }
        case 14: mg_trim(); break;
        case 15: {   /* change the allocator: refused while any node or object is alive */
            size_t live = mg_live_nodes();
            if (live || layer[0] || layer[1] || optimizer) {
                FUZZ_CHECK(mg_set_allocator(NULL) == MG_EINVAL, "allocator changed with %zu live",
                           live);
            } else {
                FUZZ_CHECK(mg_set_allocator(NULL) == MG_OK, "allocator reset");
                FUZZ_CHECK(counter.blocks == 0, "blocks left after a reset");
                FUZZ_CHECK(mg_set_allocator(&alloc) == MG_OK, "allocator set");
            }
            break;
        }
        /* ---- mg_nn.h ---- */
        case 16: do_nary(&r, dst); break;
        case 17: do_loss(&r, dst); break;
        case 18: do_layer_new(&r, a & 1); break;
        case 19:
            mg_layer_free(layer[a & 1]);
            layer[a & 1] = NULL;
            break;
        case 20: case 21: do_forward(&r, dst); break;
        case 22: {   /* a parameter into a slot, or zero a layer's gradients */
            mg_layer *l = layer[a & 1];
            if (!l) break;
            if (b & 1) {
                mg_layer_zero_grad(l);
                for (size_t i = 0; i < mg_layer_param_count(l); i++)
                    FUZZ_CHECK(mg_grad(mg_layer_param(l, i)) == 0.0, "zero_grad");
            } else {
                put(dst, mg_retain(mg_layer_param(l, byte(&r) % mg_layer_param_count(l))));
            }
            break;
        }
        case 23: do_optimizer(&r); break;
        }
    }

    for (int i = 0; i < NSLOTS; i++) put(i, NULL);
    mg_layer_free(layer[0]);
    mg_layer_free(layer[1]);
    mg_optimizer_free(optimizer);
    layer[0] = layer[1] = NULL;
    optimizer = NULL;
    FUZZ_CHECK(mg_live_nodes() == 0, "%zu nodes leaked", mg_live_nodes());
    FUZZ_CHECK(mg_set_allocator(NULL) == MG_OK, "allocator reset at the end");
    FUZZ_CHECK(counter.blocks == 0 && counter.bytes == 0, "%zu blocks, %zu bytes leaked",
               counter.blocks, counter.bytes);
    FUZZ_CHECK(!counter.bad_free, "the library freed or resized a pointer it did not own");
    return 0;
}
