/* batch.c -- the nodes of a batched forward pass (mg_mlp_forward_batch), in one block.
 *
 * A forward pass over a batch makes the same scalar nodes as one mg_mlp_forward call
 * per sample: a leaf per input number, and per sample and neuron a node
 * act(b + sum_i w_i x_i) whose children (mg_child) are the neuron's weights, the nodes
 * of the level below for the same sample, and its bias. Only the bookkeeping differs,
 * which per node costs more than the arithmetic: the nodes sit in one allocation (an
 * mg__batch, see mg_internal.h), store no edges (a node's children follow from its
 * place), and live and die together: each node counts its own references, the batch
 * counts its nodes that are held, and the batch is freed when that count reaches 0.
 * Making, backpropagating and freeing them are loops over flat arrays, as in a training
 * step written by hand.
 *
 * Backward (called by backward.c, under its lock). A batch node stores no edges, so the
 * generic pass treats it as a leaf: nodes above it (a loss) add their adjoints to it.
 * Then, for each batch the pass reached:
 *   reach      (end of discovery, before any gradient changes) level by level from the
 *              top: a node is reached if the generic pass reached it, or if a reached
 *              node of the level above belongs to the same sample (a neuron reads every
 *              node of the level below), which makes the whole row of that sample
 *              "full". The parameters of the rows in use are recorded with the generic
 *              pass's leaves, which sets their gradients aside.
 *   backward   (after the generic propagation) level by level from the top, each
 *              reached node with adjoint g passes dz = g * act'(z) on: dz * w_i to
 *              input i, dz * x_i to weight i, dz to the bias, as mg__neuron_backward
 *              does for a neuron node. Adjoints within the batch gather in an array of
 *              its own (b->adj), so its nodes' gradients need no setting aside.
 *   finish     each node of a full row adds its adjoint to its gradient.
 */
#include <string.h>

#include "mg_internal.h"

/* The node of sample s, neuron (or input) j at level l. */
static mg_node *node_at(const mg__batch *b, size_t l, size_t s, size_t j)
{
    const mg__level *lev = &b->level[l];
    return b->nodes + lev->first + s * lev->width + j;
}

/* acc += a * n, or 0 when it would not fit in a size_t. */
static int add_product(size_t *acc, size_t a, size_t n)
{
    if (n && a > (SIZE_MAX - *acc) / n) return 0;
    *acc += a * n;
    return 1;
}

/* A batch for `size` samples through the layers, not yet live (none held), its levels
   filled in; NULL when memory runs out or the sizes do not fit. */
static mg__batch *batch_alloc(mg_layer *const *layers, size_t nlayers, size_t size)
{
    size_t nlevels = nlayers + 1, nrows = 0, nnodes = 0;
    for (size_t l = 0; l < nlevels; l++) {
        size_t width = l == 0 ? layers[0]->nin : layers[l - 1]->nout;
        if (!add_product(&nnodes, width, size)) return NULL;
        if (l > 0) nrows += width;   /* a layer's rows fit: they are allocated */
    }
    size_t bytes = sizeof(mg__batch) + nlevels * sizeof(mg__level) + nrows * sizeof(mg__row *);
    if (!add_product(&bytes, nnodes, sizeof(mg_node))) return NULL;
    mg__batch *b = mg__malloc(bytes);
    if (!b) return NULL;
    mg__level *level = (mg__level *)(void *)(b + 1);
    mg__row **rows = (mg__row **)(void *)(level + nlevels);
    *b = (mg__batch){.size = size, .nlevels = nlevels, .nnodes = nnodes, .level = level,
                     .nodes = (mg_node *)(void *)(rows + nrows)};
    size_t first = 0;
    for (size_t l = 0; l < nlevels; l++) {
        const mg_layer *layer = l ? layers[l - 1] : NULL;
        level[l] = (mg__level){.width = layer ? layer->nout : layers[0]->nin,
                               .first = first,
                               .act = layer ? layer->act : MG_ACT_LINEAR,
                               .rows = layer ? rows : NULL};
        if (layer) {
            memcpy(rows, layer->rows, layer->nout * sizeof *rows);
            rows += layer->nout;
        }
        first += size * level[l].width;
    }
    return b;
}

/* *proto becomes a batch node of op `op` (value and gradient 0, held by nobody: refs
   UINT32_MAX, see node.c), to copy into place with put_node. */
static void prototype(mg_node *proto, mg__batch *b, mg_op op)
{
    *proto = (mg_node){.u.batch = b, .refs = UINT32_MAX, .op = op};
}

static void put_node(mg_node *at, const mg_node *proto, double value)
{
    *at = *proto;
    at->value = value;
}

/* The current values of level l's parameters, row by row: w[j * (nin + 1) + i]. */
static void gather_weights(const mg__batch *b, size_t l, double *w)
{
    const mg__level *lev = &b->level[l];
    size_t stride = b->level[l - 1].width + 1;
    for (size_t j = 0; j < lev->width; j++)
        for (size_t i = 0; i < stride; i++) w[j * stride + i] = lev->rows[j]->param[i]->value;
}

/* The most doubles a level needs for forward_level's work (its weights and inputs). */
static size_t forward_work(const mg__batch *b)
{
    size_t most = 0;
    for (size_t l = 1; l < b->nlevels; l++) {
        size_t nin = b->level[l - 1].width, n = b->level[l].width * (nin + 1) + nin;
        if (n > most) most = n;
    }
    return most;
}

/* ---- forward: out = act(b + sum_i w_i x_i), summed from b as neuron nodes do ------- */

/* Level l for every sample. The weights are laid out input by input (wt[i * nout + j]),
   and four neurons are summed at once: four independent sums overlap where one would
   wait for each addition, and each still adds its terms in the order of a neuron node
   (b, then i = 0, 1, ...), so the values are the same to the bit. */
static void forward_level(mg__batch *b, size_t l, double *work)
{
    const mg__level *lev = &b->level[l];
    size_t nin = b->level[l - 1].width, nout = lev->width;
    double *wt = work, *x = work + nout * (nin + 1);
    for (size_t j = 0; j < nout; j++)
        for (size_t i = 0; i <= nin; i++) wt[i * nout + j] = lev->rows[j]->param[i]->value;
    const double *bias = wt + nin * nout;
    mg_activation act = lev->act;
    mg_node proto;
    prototype(&proto, b, (mg_op)(MG_OP_NEURON_LINEAR + act));
    for (size_t s = 0; s < b->size; s++) {
        const mg_node *in = node_at(b, l - 1, s, 0);
        mg_node *out = node_at(b, l, s, 0);
        for (size_t i = 0; i < nin; i++) x[i] = in[i].value;
        size_t j = 0;
        for (; j + 4 <= nout; j += 4) {
            double z0 = bias[j], z1 = bias[j + 1], z2 = bias[j + 2], z3 = bias[j + 3];
            for (size_t i = 0; i < nin; i++) {
                const double *wi = wt + i * nout + j;
                z0 += wi[0] * x[i];
                z1 += wi[1] * x[i];
                z2 += wi[2] * x[i];
                z3 += wi[3] * x[i];
            }
            put_node(&out[j], &proto, mg__activate(act, z0));
            put_node(&out[j + 1], &proto, mg__activate(act, z1));
            put_node(&out[j + 2], &proto, mg__activate(act, z2));
            put_node(&out[j + 3], &proto, mg__activate(act, z3));
        }
        for (; j < nout; j++) {
            double z = bias[j];
            for (size_t i = 0; i < nin; i++) z += wt[i * nout + j] * x[i];
            put_node(&out[j], &proto, mg__activate(act, z));
        }
    }
}

int mg_mlp_forward_batch(mg_layer *const *layers, size_t nlayers, const double *x,
                         size_t batch, mg_node **out)
{
    if (!mg__valid_mlp(layers, nlayers) || (batch && (!x || !out))) return MG_EINVAL;
    if (batch == 0) return MG_OK;
    size_t nout = layers[nlayers - 1]->nout;
    mg__batch *b = batch_alloc(layers, nlayers, batch);
    double *w = b ? mg__malloc(forward_work(b) * sizeof *w) : NULL;
    if (!w) {
        mg__free(b);
        return MG_ENOMEM;
    }
    size_t nin = b->level[0].width;
    mg_node leaf;
    prototype(&leaf, b, MG_OP_LEAF);
    for (size_t k = 0; k < batch * nin; k++) put_node(&b->nodes[k], &leaf, x[k]);
    for (size_t l = 1; l < b->nlevels; l++) forward_level(b, l, w);
    mg__free(w);
    mg_node *top = node_at(b, nlayers, 0, 0);
    for (size_t k = 0; k < batch * nout; k++) {
        top[k].refs = 1;   /* the caller's reference */
        out[k] = &top[k];
    }
    b->held = batch * nout;
    mg__graph_lock();
    mg__adopt_batch(b);
    mg__graph_unlock();
    return MG_OK;
}

/* ---- children: weights, the level below of the same sample, bias ------------------ */

/* Level, sample and neuron of a batch node. */
static size_t place(const mg_node *n, size_t *s, size_t *j)
{
    const mg__batch *b = n->u.batch;
    size_t k = (size_t)(n - b->nodes), l = b->nlevels - 1;
    while (k < b->level[l].first) l--;
    k -= b->level[l].first;
    *s = k / b->level[l].width;
    *j = k % b->level[l].width;
    return l;
}

size_t mg__batch_child_count(const mg_node *n)
{
    size_t s, j, l = place(n, &s, &j);
    return l ? 2 * n->u.batch->level[l - 1].width + 1 : 0;
}

mg_node *mg__batch_child(const mg_node *n, size_t i)
{
    const mg__batch *b = n->u.batch;
    size_t s, j, l = place(n, &s, &j);
    if (l == 0) return NULL;
    size_t nin = b->level[l - 1].width;
    mg__row *row = b->level[l].rows[j];
    if (i < nin) return row->param[i];
    if (i < 2 * nin) return node_at(b, l - 1, s, i - nin);
    return i == 2 * nin ? row->param[nin] : NULL;
}

/* One node's local derivative, applied once (mg_backward_step): the neuron's
   act'(z) * g reaches its weights (times its inputs), its inputs (times its weights)
   and its bias, as the neuron backward of nn.c does for a neuron node with edges. */
void mg__batch_node_backward(const mg_node *n, double g)
{
    const mg__batch *b = n->u.batch;
    size_t s, j, l = place(n, &s, &j);
    if (l == 0) return;   /* an input leaf */
    size_t nin = b->level[l - 1].width;
    mg__row *row = b->level[l].rows[j];
    double dz = mg__neuron_dz((mg_op)n->op, n->value, g);
    for (size_t i = 0; i < nin; i++) {
        mg_node *x = node_at(b, l - 1, s, i);
        row->param[i]->grad += dz * x->value;
        x->grad += dz * row->param[i]->value;
    }
    row->param[nin]->grad += dz;
}

/* ---- backward ---------------------------------------------------------------------- */

/* Row (l, s), the nodes of sample s at level l, is full when a reached node of level
   l + 1 reads it: then every node in it is reached, and its adjoints from the level
   above gather in b->adj (index: the node's). Otherwise only the nodes the generic
   pass reached are (pending != 0); their adjoints from outside the batch are in grad,
   set aside by the generic pass, which also finishes them. */
static int full(const mg__batch *b, size_t l, size_t s) { return b->full[l * b->size + s]; }

/* The samples lo..hi-1 that hold every node reached from outside (nodes kmin..kmax):
   no other sample has a reached node. */
static void sample_range(mg__batch *b)
{
    b->lo = b->size;
    b->hi = 0;
    for (size_t l = 0; l < b->nlevels; l++) {
        size_t first = b->level[l].first, width = b->level[l].width;
        size_t end = first + b->size * width;   /* the level's nodes: first..end-1 */
        if (b->kmax < first || b->kmin >= end) continue;
        size_t a = b->kmin > first ? b->kmin : first, z = b->kmax < end ? b->kmax : end - 1;
        if ((a - first) / width < b->lo) b->lo = (a - first) / width;
        if ((z - first) / width + 1 > b->hi) b->hi = (z - first) / width + 1;
    }
}

int mg__batch_reach(mg__batch *b)
{
    size_t top = b->nlevels - 1;
    sample_range(b);
    for (size_t l = 0; l < b->nlevels; l++) {
        size_t width = b->level[l].width;
        memset(b->adj + b->level[l].first + b->lo * width, 0,
               (b->hi - b->lo) * width * sizeof *b->adj);
    }
    memset(b->full + top * b->size + b->lo, 0, b->hi - b->lo);
    for (size_t l = top; l > 0; l--) {
        const mg__level *lev = &b->level[l];
        int any_full = 0;
        for (size_t s = b->lo; s < b->hi; s++) {
            int reached = full(b, l, s);
            any_full |= reached;
            const mg_node *out = node_at(b, l, s, 0);
            for (size_t j = 0; !reached && j < lev->width; j++) reached = out[j].pending != 0;
            b->full[(l - 1) * b->size + s] = (unsigned char)reached;
        }
        /* the parameters of every row, or of the rows of the nodes reached one by one */
        for (size_t j = 0; j < lev->width; j++) {
            int used = any_full;
            for (size_t s = b->lo; !used && s < b->hi; s++) used = node_at(b, l, s, j)->pending != 0;
            if (used && mg__backward_reach_row(lev->rows[j]) != MG_OK) return MG_ENOMEM;
        }
    }
    return MG_OK;
}

size_t mg__batch_work(const mg__batch *b)
{
    size_t most = 0;
    for (size_t l = 1; l < b->nlevels; l++) {
        size_t nin = b->level[l - 1].width;
        size_t n = b->level[l].width * (2 * nin + 3) + nin;
        if (n > most) most = n;
    }
    return most;
}

static int all_finite(const double *x, size_t n)
{
    int finite = 1;
    for (size_t i = 0; i < n; i++) finite &= isfinite(x[i]) != 0;
    return finite;
}

/* Level l's reached nodes pass their adjoints on. work: mg__batch_work(b) doubles. */
static void backward_level(mg__batch *b, size_t l, double *work)
{
    const mg__level *lev = &b->level[l], *below = &b->level[l - 1];
    size_t nin = below->width, nout = lev->width, stride = nin + 1;
    double *w = work, *dw = w + nout * stride, *touched = dw + nout * stride;
    double *x = touched + nout;   /* one sample's inputs */
    gather_weights(b, l, w);
    int w_finite = all_finite(w, nout * stride);
    memset(dw, 0, nout * (stride + 1) * sizeof *dw);
    for (size_t s = b->lo; s < b->hi; s++) {
        const mg_node *out = node_at(b, l, s, 0);
        const double *adj = b->adj + lev->first + s * nout;
        double *gx = b->adj + below->first + s * nin;   /* the inputs' adjoints */
        int row_full = full(b, l, s), loaded = 0, x_finite = 1;
        for (size_t j = 0; j < nout; j++) {
            int pending = out[j].pending != 0;
            if (!row_full && !pending) continue;
            /* from the level above (0 if none) and from outside the batch */
            double g = adj[j] + (pending ? out[j].grad : 0.0);
            double dz = mg__neuron_dz((mg_op)out[j].op, out[j].value, g);
            touched[j] = 1.0;
            if (!loaded) {
                const mg_node *in = node_at(b, l - 1, s, 0);
                for (size_t i = 0; i < nin; i++) x[i] = in[i].value;
                x_finite = all_finite(x, nin);
                loaded = 1;
            }
            /* dz == 0 with finite weights and inputs adds only zeros, which change no
               adjoint (an adjoint, summed from +0, is never -0): skip them, as ReLU
               makes many. An inf or nan still gives nan, as in the scalar graph. */
            if (dz == 0.0 && w_finite && x_finite) continue;
            const double *wj = w + j * stride;
            double *dwj = dw + j * stride;
            for (size_t i = 0; i < nin; i++) {
                dwj[i] += dz * x[i];
                gx[i] += dz * wj[i];
            }
            dwj[nin] += dz;
        }
    }
    for (size_t j = 0; j < nout; j++) {
        if (touched[j] == 0.0) continue;
        mg_node **param = lev->rows[j]->param;
        for (size_t i = 0; i < stride; i++) param[i]->grad += dw[j * stride + i];
    }
}

void mg__batch_backward(mg__batch *b, double *work)
{
    for (size_t l = b->nlevels - 1; l > 0; l--) backward_level(b, l, work);
}

void mg__batch_unreach(mg__batch *b)
{
    for (size_t l = 1; l < b->nlevels; l++)
        for (size_t j = 0; j < b->level[l].width; j++) b->level[l].rows[j]->seen = 0;
    b->reached = 0;
}

/* The adjoints from the level above join the gradients of full rows (a node the
   generic pass recorded holds its other adjoint in grad, and is finished by it). */
void mg__batch_finish(mg__batch *b)
{
    for (size_t l = 0; l + 1 < b->nlevels; l++) {
        size_t width = b->level[l].width;
        for (size_t s = b->lo; s < b->hi; s++) {
            if (!full(b, l, s)) continue;
            mg_node *row = node_at(b, l, s, 0);
            const double *adj = b->adj + b->level[l].first + s * width;
            for (size_t j = 0; j < width; j++) row[j].grad += adj[j];
        }
    }
    mg__batch_unreach(b);
}
