/* loss.c -- losses as graph nodes, composed from the ops of ops.c and nn.c, and the
 * two nodes of their own: binary cross-entropy of a logit and softmax cross-entropy of
 * a row of logits (forward and backward).
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

/* ---- cross_entropy: out = -log softmax(x)[label] over one row's k logits x;
   d/dx_j = softmax_j - [j == label] ------------------------------------------------

   torch's order of operations (log_softmax, then nll_loss), so that the two agree to the
   bit: with m = max(x) and the shifted logits s_j = x_j - m, out = lse - s_label where
   lse = log(sum_j exp(s_j)), and d/dx_j = softmax_j = exp(s_j - lse), minus 1 at the
   label (g times each: -g + g softmax, as torch's log_softmax backward adds its two
   adjoints). Computing logsumexp(x) first and subtracting x[label] afterwards is the same
   function, but rounds away what is small next to m: for [1e16, 1e16] it gave 0 instead
   of log 2, and its gradient exp(x[j] - logsumexp) gave [0, 1] instead of [-0.5, 0.5].
   An infinite m makes the shifted logits nan (inf - inf), so value and gradients are
   nan, as torch's (fmax skips a nan logit, whose own s_j is nan and makes the sum nan).

   These are the numbers, bit for bit, of the graph this node replaced: k add_const
   nodes s_j = x_j + (-m), a logsumexp node over them and a sub node lse - s_label.
   (mg_logsumexp shifts by its operands' largest value, which for s is 0 or, when m is
   infinite, -inf and then 0: a shift by 0, which changes no bit.) */

/* lse = log(sum_j exp(x_j - m)), m = max(x) written to *m. */
static double shifted_logsumexp(mg_node *const *x, size_t k, double *m)
{
    double top = -INFINITY;
    for (size_t j = 0; j < k; j++) top = fmax(top, x[j]->value);
    double s = 0.0;
    for (size_t j = 0; j < k; j++) s += exp(x[j]->value - top);
    *m = top;
    return log(s);
}

mg_node *mg_cross_entropy(mg_node *const *x, size_t k, size_t label)
{
    if (!x || k == 0 || k > MG_MAX_CHILDREN || label >= k) return NULL;
    for (size_t j = 0; j < k; j++)
        if (!x[j]) return NULL;
    double m, lse = shifted_logsumexp(x, k, &m);
    mg_node *out = mg__alloc_node(MG_OP_CROSS_ENTROPY, lse - (x[label]->value - m),
                                  (uint32_t)k);
    if (!out) return NULL;
    for (size_t j = 0; j < k; j++) out->child[j] = x[j];
    out->u.constant = (double)label;
    mg__graph_lock();
    mg__adopt(out);
    mg__graph_unlock();
    return out;
}

/* lse is computed again rather than kept: a node has no room for it beside the label,
   and k exps cost less than the nodes it replaces. */
void mg__cross_entropy_backward(mg_node *out, double g)
{
    mg_node *const *x = out->child;
    size_t k = out->nchild, label = (size_t)out->u.constant;
    double m, lse = shifted_logsumexp(x, k, &m);
    for (size_t j = 0; j < k; j++) {
        double d = g * exp((x[j]->value - m) - lse);
        x[j]->grad += j == label ? -g + d : d;
    }
}

/* ---- softmax cross-entropy loss: the mean of mg_cross_entropy over the rows ------- */

typedef struct {
    mg_node *const *logits;
    const size_t *label;
    size_t k;
} ce_args;

static mg_node *cross_entropy_term(size_t i, const void *ctx)
{
    const ce_args *r = ctx;
    return mg_cross_entropy(r->logits + i * r->k, r->k, r->label[i]);
}

mg_node *mg_cross_entropy_loss(mg_node *const *logits, const size_t *label, size_t n,
                               size_t k)
{
    if (!logits || !label || k == 0 || k > MG_MAX_CHILDREN || n > MG_MAX_CHILDREN)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (label[i] >= k) return NULL;
    ce_args r = {logits, label, k};
    mg_node *sum = reduce_terms(n, cross_entropy_term, &r, mg_sum);
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
