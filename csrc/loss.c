/* loss.c -- losses as graph nodes, composed from the ops of ops.c and nn.c, and the
 * one node of its own, binary cross-entropy of a logit (forward and backward).
 *
 * Each loss builds a few small nodes per sample (the error, the margin, the
 * cross-entropy), then one n-ary node over all of them, so a picture of the graph
 * shows every term. Per-sample nodes are released as soon as the node above holds
 * them. A mean is a sum divided by n, as torch computes it.
 */
#include <math.h>

#include "mg_internal.h"
#include "mg_nn.h"

static void release_all(mg_node **nodes, size_t n)
{
    for (size_t i = 0; i < n; i++) mg_release(nodes[i]);
}

/* Returns combine(terms[0..n)) after making term i with make_term(i); NULL if any
   step fails. Owns and releases the terms. */
typedef mg_node *(*term_fn)(size_t i, const void *ctx);
typedef mg_node *(*combine_fn)(mg_node *const *terms, size_t n);

static mg_node *reduce_terms(size_t n, term_fn make_term, const void *ctx, combine_fn combine)
{
    /* combine() refuses more operands than a node holds: refuse them before making any
       term (and before reading the caller's arrays). */
    if (n == 0 || n > MG_MAX_CHILDREN) return NULL;
    mg_node **terms = mg__malloc(n * sizeof *terms);
    if (!terms) return NULL;
    size_t made = 0;
    while (made < n && (terms[made] = make_term(made, ctx))) made++;
    mg_node *out = made == n ? combine(terms, n) : NULL;
    release_all(terms, made);
    mg__free(terms);
    return out;
}

/* sum / n, releasing the sum */
static mg_node *mean_of(mg_node *sum, size_t n)
{
    mg_node *mean = mg_div_const(sum, (double)n);
    mg_release(sum);
    return mean;
}

/* What a per-sample term reads: the predictions x[] and their targets (or labels). */
typedef struct {
    mg_node *const *x;
    const double *target;
} term_args;

/* ---- squared errors: term i = pred_i - target_i, then their sum of squares -------- */

static mg_node *error_term(size_t i, const void *ctx)
{
    const term_args *p = ctx;
    return mg_add_const(p->x[i], -p->target[i]);   /* x + (-t) is exactly x - t */
}

mg_node *mg_sse_loss(mg_node *const *pred, const double *target, size_t n)
{
    if (!pred || !target) return NULL;
    term_args p = {pred, target};
    return reduce_terms(n, error_term, &p, mg_sum_squares);
}

mg_node *mg_mse_loss(mg_node *const *pred, const double *target, size_t n)
{
    mg_node *sse = mg_sse_loss(pred, target, n);
    return sse ? mean_of(sse, n) : NULL;
}

/* ---- hinge: term i = relu(1 - label_i * score_i), then the mean ------------------- */

static mg_node *hinge_term(size_t i, const void *ctx)
{
    const term_args *p = ctx;
    mg_node *margin = mg_mul_const(p->x[i], -p->target[i]);   /* -y * s */
    mg_node *slack = mg_add_const(margin, 1.0);               /* 1 - y * s */
    mg_release(margin);
    mg_node *term = mg_relu(slack);
    mg_release(slack);
    return term;
}

mg_node *mg_hinge_loss(mg_node *const *score, const double *label, size_t n)
{
    if (!score || !label) return NULL;
    for (size_t i = 0; i < n; i++)
        if (label[i] != 1.0 && label[i] != -1.0) return NULL;   /* -y * s needs |y| == 1 */
    term_args p = {score, label};
    mg_node *sum = reduce_terms(n, hinge_term, &p, mg_sum);
    return sum ? mean_of(sum, n) : NULL;
}

/* ---- bce_logits: out = (1 - t) x - log_sigmoid(x); d/dx = sigmoid(x) - t ----------- */

/* In torch's order of operations (binary_cross_entropy_with_logits), so that the two
   agree to the bit, at +-inf too: log_sigmoid(x) = min(x, 0) - log1p(exp(-|x|)), whose
   exponent is never positive. (max(x, 0) - x t + log1p(exp(-|x|)) is the same function
   and cancels less, but gives inf - inf = nan at x = +inf, t = 0.5, where torch gives
   inf, and differs from torch in the last digits where x t cancels.) */
mg_node *mg_bce_with_logits(mg_node *x, double t)
{
    if (!x) return NULL;
    double v = x->value;
    double log_sigmoid = (v < 0.0 ? v : 0.0) - log1p(exp(-fabs(v)));
    return mg__new_node(MG_OP_BCE_LOGITS, (1.0 - t) * v - log_sigmoid, x, NULL, t);
}

/* torch's sigmoid, 1 / (1 + exp(-x)): exactly 0 below x = -709.78, where exp(-x)
   overflows (the form exp(x) / (1 + exp(x)) would give a subnormal number there). */
void mg__bce_logits_backward(mg_node *out, double g)
{
    mg_node *x = out->child[0];
    x->grad += g * (1.0 / (1.0 + exp(-x->value)) - out->u.constant);
}

/* ---- binary cross-entropy with logits: the mean of mg_bce_with_logits ------------- */

static mg_node *bce_term(size_t i, const void *ctx)
{
    const term_args *p = ctx;
    return mg_bce_with_logits(p->x[i], p->target[i]);
}

mg_node *mg_bce_with_logits_loss(mg_node *const *logit, const double *target, size_t n)
{
    if (!logit || !target) return NULL;
    term_args p = {logit, target};
    mg_node *sum = reduce_terms(n, bce_term, &p, mg_sum);
    return sum ? mean_of(sum, n) : NULL;
}

/* ---- softmax cross-entropy: term i = logsumexp(x - m) - (x[label_i] - m), where x
   are sample i's k logits and m = max(x) ---------------------------------------------

   torch's order of operations (log_softmax, then nll_loss), so that the two agree to the
   bit: the shifted logits x[j] - m are nodes (add_const), and the term is logsumexp
   over them minus the shifted label logit. Computing logsumexp(x) first and
   subtracting x[label] afterwards is the same function, but rounds away what is small
   next to m: for [1e16, 1e16] it gave 0 instead of log 2, and its gradient
   exp(x[j] - logsumexp) gave [0, 1] instead of [-0.5, 0.5]. Here the logsumexp node's
   backward is torch's: exp(shifted[j] - log sum) = softmax_j, and the label's two
   adjoints add as torch's log_softmax backward adds them. An infinite or nan m makes
   the shifted logits nan (inf - inf), so loss and gradients are nan, as torch's. */

/* What a cross-entropy term reads: n samples of k logits each, one label each. */
typedef struct {
    mg_node *const *logits;
    const size_t *label;
    size_t k;
    mg_node **shifted;   /* room for one sample's k shifted logits */
} ce_args;

/* x - m as k nodes in shifted[0..k), m the largest logit (fmax skips a nan, which
   makes the logsumexp nan anyway); 0, leaving none, if one cannot be made. */
static int shift_logits(mg_node *const *x, size_t k, mg_node **shifted)
{
    double m = -INFINITY;
    for (size_t j = 0; j < k; j++) {
        if (!x[j]) return 0;
        m = fmax(m, x[j]->value);
    }
    for (size_t j = 0; j < k; j++) {
        shifted[j] = mg_add_const(x[j], -m);   /* x + (-m) is exactly x - m */
        if (!shifted[j]) {
            release_all(shifted, j);
            return 0;
        }
    }
    return 1;
}

static mg_node *cross_entropy_term(size_t i, const void *ctx)
{
    const ce_args *r = ctx;
    if (!shift_logits(r->logits + i * r->k, r->k, r->shifted)) return NULL;
    mg_node *lse = mg_logsumexp(r->shifted, r->k);
    mg_node *term = lse ? mg_sub(lse, r->shifted[r->label[i]]) : NULL;
    mg_release(lse);
    release_all(r->shifted, r->k);
    return term;
}

mg_node *mg_cross_entropy_loss(mg_node *const *logits, const size_t *label, size_t n,
                               size_t k)
{
    if (!logits || !label || k == 0 || k > MG_MAX_CHILDREN || n > MG_MAX_CHILDREN)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (label[i] >= k) return NULL;
    ce_args r = {logits, label, k, mg__malloc(k * sizeof(mg_node *))};
    mg_node *sum = r.shifted ? reduce_terms(n, cross_entropy_term, &r, mg_sum) : NULL;
    mg__free(r.shifted);
    return sum ? mean_of(sum, n) : NULL;
}

/* ---- L2 penalty: alpha * sum of squares ------------------------------------------ */

mg_node *mg_l2_penalty(mg_node *const *p, size_t n, double alpha)
{
    mg_node *squares = p ? mg_sum_squares(p, n) : NULL;
    if (!squares) return NULL;
    mg_node *penalty = mg_mul_const(squares, alpha);
    mg_release(squares);
    return penalty;
}
