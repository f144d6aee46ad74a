/* nn.c -- n-ary nodes (neuron, sum, sum of squares, logsumexp) and dense layers built
 * from neuron nodes.
 *
 * As in ops.c, each node's forward sits above its backward, which receives g, the
 * adjoint of `out`, and adds g * d(out)/d(operand) to each operand's grad. A node is
 * allocated and filled in completely first and made live (mg__adopt, under the graph
 * lock) only when nothing can fail any more, so a failed call leaves nothing behind.
 */
#include <math.h>

#include "mg_internal.h"
#include "mg_nn.h"

/* Makes every node of a fully built batch live with one lock round trip. */
static void adopt_all(mg_node *const *nodes, size_t n)
{
    mg__graph_lock();
    for (size_t i = 0; i < n; i++) mg__adopt(nodes[i]);
    mg__graph_unlock();
}

static int any_null(mg_node *const *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!x[i]) return 1;
    return 0;
}

/* ---- neuron: out = act(b + sum_i w_i x_i), inputs x as children, w and b in a row --- */

_Static_assert(MG_OP_NEURON_SIGMOID - MG_OP_NEURON_LINEAR == MG_ACT_SIGMOID,
               "neuron ops follow the order of mg_activation");

/* A neuron node over the inputs x[0..nin) with the row's weights, not yet live. */
static mg_node *neuron_alloc(mg__row *row, mg_node *const *x, mg_activation act)
{
    uint32_t nin = row->nin;
    mg_node *out = mg__alloc_neuron((mg_op)(MG_OP_NEURON_LINEAR + act), 0.0, nin, row);
    if (!out) return NULL;
    double z = row->param[nin]->value;   /* left to right from b, as micrograd's sum */
    for (uint32_t i = 0; i < nin; i++) {
        z += row->param[i]->value * x[i]->value;
        out->child[i] = x[i];
    }
    out->value = mg__activate(act, z);
    return out;
}

static int valid_activation(mg_activation act)
{
    return act == MG_ACT_LINEAR || act == MG_ACT_TANH || act == MG_ACT_RELU ||
           act == MG_ACT_SIGMOID;
}

void mg__neuron_backward(mg_node *out, double g)
{
    uint32_t nin = out->nchild;
    mg_node **x = out->child, **w = mg__row_of(out)->param, *b = w[nin];
    double dz = mg__neuron_dz((mg_op)out->op, out->value, g);   /* g * act'(z) */
    for (uint32_t i = 0; i < nin; i++) {
        w[i]->grad += dz * x[i]->value;
        x[i]->grad += dz * w[i]->value;
    }
    b->grad += dz;
}

/* ---- sum: out = x_0 + x_1 + ...; d/dx_i = 1 ----------------------------------------- */

static mg_node *nary_alloc(mg_op op, mg_node *const *x, size_t n)
{
    if (!x || n == 0 || n > MG_MAX_CHILDREN || any_null(x, n)) return NULL;
    mg_node *out = mg__alloc_node(op, 0.0, (uint32_t)n);
    if (!out) return NULL;
    for (size_t i = 0; i < n; i++) out->child[i] = x[i];
    return out;
}

mg_node *mg_sum(mg_node *const *x, size_t n)
{
    mg_node *out = nary_alloc(MG_OP_SUM, x, n);
    if (!out) return NULL;
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += x[i]->value;
    out->value = s;
    adopt_all(&out, 1);
    return out;
}

void mg__sum_backward(mg_node *out, double g)
{
    for (uint32_t i = 0; i < out->nchild; i++) out->child[i]->grad += g;
}

/* ---- sum_squares: out = x_0^2 + x_1^2 + ...; d/dx_i = 2 x_i ------------------------- */

mg_node *mg_sum_squares(mg_node *const *x, size_t n)
{
    mg_node *out = nary_alloc(MG_OP_SUM_SQUARES, x, n);
    if (!out) return NULL;
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += x[i]->value * x[i]->value;
    out->value = s;
    adopt_all(&out, 1);
    return out;
}

/* 2 (g x_i): the sum of the two equal terms g x_i that torch backpropagates through
   (x * x).sum(), so l2_penalty's gradient is torch's to the bit. Not g (2 x_i), whose
   2 x_i overflows for |x_i| > 8.9e307 where the gradient 2 alpha x_i is finite, nor
   (2 g) x_i, whose 2 g overflows for alpha > 8.9e307 and then gives inf * 0 = nan.
   mse_loss's gradient is torch's (2/n) * e too: 2/n is exactly 2 g (g = 1/n), and
   scaling by 2 is exact, except in a subnormal gradient (then a unit apart at most). */
void mg__sum_squares_backward(mg_node *out, double g)
{
    for (uint32_t i = 0; i < out->nchild; i++) {
        mg_node *c = out->child[i];
        c->grad += 2.0 * (g * c->value);
    }
}

/* ---- logsumexp: out = log(sum_i exp(x_i)); d/dx_i = exp(x_i - out) = softmax_i ------ */

mg_node *mg_logsumexp(mg_node *const *x, size_t n)
{
    mg_node *out = nary_alloc(MG_OP_LOGSUMEXP, x, n);
    if (!out) return NULL;
    /* Subtract the largest x so that no exp overflows; an infinite largest x is not
       subtracted (inf - inf is nan), as torch.logsumexp does. */
    double m = -INFINITY;
    for (size_t i = 0; i < n; i++) m = fmax(m, x[i]->value);
    if (isinf(m)) m = 0.0;
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += exp(x[i]->value - m);
    out->value = m + log(s);
    adopt_all(&out, 1);
    return out;
}

void mg__logsumexp_backward(mg_node *out, double g)
{
    for (uint32_t i = 0; i < out->nchild; i++) {
        mg_node *c = out->child[i];
        c->grad += g * exp(c->value - out->value);
    }
}

/* ---- dense layers --------------------------------------------------------------------- */

static void release_all(mg_node *const *nodes, size_t n)
{
    for (size_t i = 0; i < n; i++) mg_release(nodes[i]);
}

/* A row of nin weights and a bias: the leaves `params` (each gaining a reference) when
   given, else new leaves with the values `init` (zeros if NULL). */
static mg__row *row_new(size_t nin, const double *init, mg_node *const *params)
{
    mg__row *row = mg__malloc(sizeof *row + (nin + 1) * sizeof row->param[0]);
    if (!row) return NULL;
    *row = (mg__row){.refs = 1, .nin = (uint32_t)nin};
    for (size_t i = 0; i <= nin; i++) {
        row->param[i] = params ? mg_retain(params[i]) : mg_leaf(init ? init[i] : 0.0);
        if (!row->param[i]) {
            release_all(row->param, i);
            mg__free(row);
            return NULL;
        }
    }
    return row;
}

/* The most parameters a layer may have: mg_backward numbers the nodes it reaches with
   32 bits, so it could not reach every parameter of a bigger layer (which would need
   more than 256 GiB anyway). Checked before allocating anything, so that an absurd size
   fails at once instead of after gigabytes of nodes. */
#define MAX_LAYER_PARAMS UINT32_MAX

/* mg_layer_new over `init` values, or mg_layer_from_params over existing `params`. */
static mg_layer *layer_new(size_t nin, size_t nout, mg_activation act, const double *init,
                           mg_node *const *params)
{
    if (nin == 0 || nout == 0 || !valid_activation(act)) return NULL;
    if (nin > MG_MAX_CHILDREN || nout > MAX_LAYER_PARAMS / (nin + 1) ||
        nout > SIZE_MAX / sizeof(mg__row *))   /* a 32-bit size_t */
        return NULL;
    mg_layer *layer = mg__malloc(sizeof *layer);
    mg__row **rows = mg__malloc(nout * sizeof *rows);
    if (!layer || !rows) {
        mg__free(rows);
        mg__free(layer);
        return NULL;
    }
    *layer = (mg_layer){.nin = nin, .nout = nout, .act = act, .rows = rows};
    for (size_t j = 0; j < nout; j++) {
        size_t first = j * (nin + 1);
        rows[j] = row_new(nin, init ? init + first : NULL, params ? params + first : NULL);
        if (!rows[j]) {
            layer->nout = j;   /* free what was made */
            mg_layer_free(layer);
            return NULL;
        }
    }
    return layer;
}

mg_layer *mg_layer_new(size_t nin, size_t nout, mg_activation act, const double *init)
{
    return layer_new(nin, nout, act, init, NULL);
}

mg_layer *mg_layer_from_params(size_t nin, size_t nout, mg_activation act,
                               mg_node *const *params)
{
    if (!params || nin == 0 || nin > MG_MAX_CHILDREN || nout > MAX_LAYER_PARAMS / (nin + 1))
        return NULL;
    for (size_t i = 0; i < nout * (nin + 1); i++)
        if (!params[i] || params[i]->op != MG_OP_LEAF) return NULL;
    return layer_new(nin, nout, act, NULL, params);
}

void mg_layer_free(mg_layer *layer)
{
    if (!layer) return;
    for (size_t j = 0; j < layer->nout; j++) mg__row_release(layer->rows[j]);
    mg__free(layer->rows);
    mg__free(layer);
}

size_t mg_layer_nin(const mg_layer *layer) { return layer->nin; }
size_t mg_layer_nout(const mg_layer *layer) { return layer->nout; }
mg_activation mg_layer_activation(const mg_layer *layer) { return layer->act; }
size_t mg_layer_param_count(const mg_layer *layer) { return layer->nout * (layer->nin + 1); }

mg_node *mg_layer_param(const mg_layer *layer, size_t i)
{
    if (i >= mg_layer_param_count(layer)) return NULL;
    return layer->rows[i / (layer->nin + 1)]->param[i % (layer->nin + 1)];
}

/* Neuron j of the layer over in[], not yet live. */
static mg_node *layer_neuron_alloc(const mg_layer *layer, size_t j, mg_node *const *in)
{
    return neuron_alloc(layer->rows[j], in, layer->act);
}

int mg_layer_forward(const mg_layer *layer, mg_node *const *in, mg_node **out)
{
    if (!layer || !in || !out || any_null(in, layer->nin)) return MG_EINVAL;
    for (size_t j = 0; j < layer->nout; j++) {
        out[j] = layer_neuron_alloc(layer, j, in);
        if (!out[j]) {
            for (size_t k = 0; k < j; k++) {
                mg__free(out[k]);   /* never made live */
                out[k] = NULL;
            }
            return MG_ENOMEM;
        }
    }
    adopt_all(out, layer->nout);
    return MG_OK;
}

int mg_layer_forward_neuron(const mg_layer *layer, size_t j, mg_node *const *in,
                            mg_node **out)
{
    if (!layer || !in || !out || j >= layer->nout || any_null(in, layer->nin))
        return MG_EINVAL;
    mg_node *n = layer_neuron_alloc(layer, j, in);
    if (!n) return MG_ENOMEM;
    adopt_all(&n, 1);
    *out = n;
    return MG_OK;
}

int mg__valid_mlp(mg_layer *const *layers, size_t nlayers)
{
    if (!layers || nlayers == 0) return 0;
    for (size_t l = 0; l < nlayers; l++) {
        if (!layers[l]) return 0;
        if (l > 0 && layers[l]->nin != layers[l - 1]->nout) return 0;
    }
    return 1;
}

/* The forward pass through every layer; hidden outputs live in `work` (two halves of
   the widest layer's size) and are released once the next layer holds them. */
static int mlp_forward(mg_layer *const *layers, size_t nlayers, mg_node *const *in,
                       mg_node **out, mg_node **work, size_t width)
{
    mg_node *const *cur = in;
    for (size_t l = 0; l < nlayers; l++) {
        mg_node **next = l + 1 == nlayers ? out : work + (l % 2) * width;
        int rc = mg_layer_forward(layers[l], cur, next);
        if (l > 0) release_all(cur, layers[l - 1]->nout);
        if (rc != MG_OK) return rc;
        cur = next;
    }
    return MG_OK;
}

static size_t widest(mg_layer *const *layers, size_t nlayers)
{
    size_t width = 0;
    for (size_t l = 0; l < nlayers; l++)
        if (layers[l]->nout > width) width = layers[l]->nout;
    return width;
}

int mg_mlp_forward(mg_layer *const *layers, size_t nlayers, mg_node *const *in,
                   mg_node **out)
{
    if (!mg__valid_mlp(layers, nlayers) || !in || !out) return MG_EINVAL;
    size_t width = widest(layers, nlayers);
    mg_node **work = mg__malloc(2 * width * sizeof *work);
    if (!work) return MG_ENOMEM;
    int rc = mlp_forward(layers, nlayers, in, out, work, width);
    if (rc != MG_OK)
        for (size_t j = 0; j < layers[nlayers - 1]->nout; j++) out[j] = NULL;
    mg__free(work);
    return rc;
}

void mg_layer_zero_grad(mg_layer *layer)
{
    for (size_t j = 0; j < layer->nout; j++)
        for (size_t i = 0; i <= layer->nin; i++) layer->rows[j]->param[i]->grad = 0.0;
}
