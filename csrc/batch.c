/* batch.c -- the nodes of a batched forward pass (mg_mlp_forward_batch), in one block.
 *
 * A forward pass over a batch makes the same scalar nodes as one mg_mlp_forward call
 * per sample: a leaf per input number, and per sample and neuron a node
 * act(b + sum_i w_i x_i) whose children (mg_child) are the neuron's weights, the nodes
 * of the level below for the same sample, and its bias. Only the bookkeeping differs,
 * which per node costs more than the arithmetic: the nodes sit in one allocation (an
 * mg__batch, below), store no edges (a node's children follow from its place), and
 * live and die together: each node counts its own references, the batch counts its
 * nodes that are held, and the batch is freed when that count reaches 0. Making,
 * backpropagating and freeing them are loops over flat arrays, as in a training step
 * written by hand.
 *
 * Backward (called by backward.c, under its lock). A batch node stores no edges, so the
 * generic pass treats it as a leaf: nodes above it (a loss) add their adjoints to it.
 * Then, for each batch the pass reached:
 *   reach      (end of discovery, before any gradient changes) level by level from the
 *              top: a node is reached if the generic pass reached it, or if a reached
 *              node of the level above belongs to the same sample (a neuron reads every
 *              node of the level below), which makes that sample's whole slice of
 *              the level "full" (a slice: the nodes of one sample at one level). The
 *              parameters of the rows in use are recorded with the generic pass's
 *              leaves, which sets their gradients aside.
 *   backward   (after the generic propagation) level by level from the top, each
 *              reached node with adjoint g passes dz = g * act'(z) on: dz * w_i to
 *              input i, dz * x_i to weight i, dz to the bias, as mg__neuron_backward
 *              does for a neuron node. Adjoints within the batch gather in an array of
 *              its own (b->adj), so its nodes' gradients need no setting aside. When
 *              each reached slice is reached whole (a loss over whole outputs), a level
 *              is three dense products (backward_dense); otherwise node by node.
 *   finish     each node of a full slice adds its adjoint to its gradient.
 */
#include <string.h>

#include "mg_internal.h"

/* The nodes of one mg_mlp_forward_batch call, in one allocation. Level 0 holds the
   inputs (leaves), level l >= 1 the neurons of the l-th layer: sample s, neuron j is
   nodes[level[l].first + s * level[l].width + j]. A batch node stores no edges: its
   children (mg_child) are its row's weights, the nodes of the level below for the same
   sample, and its row's bias. Each node counts its own references; the batch counts
   its held nodes and lives while any of them is held. */
typedef struct {
    size_t width, first;
    mg_activation act;
    mg__row **rows;               /* one per neuron, each holding a reference; NULL at 0 */
} mg__level;

struct mg__batch {
    size_t held;                  /* its nodes with refs > 0 (graph lock): the batch is
                                     freed when none is left */
    size_t size;                  /* samples */
    size_t nlevels;               /* layers + 1 */
    size_t nnodes;
    mg__level *level;
    mg_node *nodes;
    /* mg_backward scratch: */
    mg__batch *next_reached;      /* the list of reached batches */
    int reached;                  /* on that list */
    size_t kmin, kmax;            /* the nodes reached from outside lie in nodes[kmin..kmax] */
    size_t lo, hi;                /* ... and in samples lo..hi-1 */
    unsigned char *full;          /* size * nlevels slice flags */
    double *adj;                  /* nnodes adjoints */
};

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
   MG__UNHELD), to copy into place with put_node. */
static void prototype(mg_node *proto, mg__batch *b, mg_op op)
{
    *proto = (mg_node){.u.batch = b, .refs = MG__UNHELD, .op = op};
}

static void put_node(mg_node *at, const mg_node *proto, double value)
{
    *at = *proto;
    at->value = value;
}

/* ---- lifetime ---------------------------------------------------------------------- */

/* Makes a fully built batch live: its rows gain a reference each, and its nodes count
   as live. The caller sets b->held and holds the graph lock. */
static void adopt(mg__batch *b)
{
    for (size_t l = 1; l < b->nlevels; l++)
        for (size_t j = 0; j < b->level[l].width; j++) b->level[l].rows[j]->refs++;
    mg__nodes_born(b->nnodes);
}

/* node.c calls these two as a batch node's refs leaves or returns to MG__UNHELD. */
void mg__batch_node_held(const mg_node *n) { n->u.batch->held++; }

/* The batch's nodes hold no edges: only its rows keep other nodes (the parameters)
   alive. */
mg_node *mg__batch_node_dropped(const mg_node *n, mg_node *dead)
{
    mg__batch *b = n->u.batch;
    if (--b->held != 0) return dead;
    for (size_t l = 1; l < b->nlevels; l++)
        for (size_t j = 0; j < b->level[l].width; j++)
            dead = mg__row_drop(b->level[l].rows[j], dead);
    mg__nodes_died(b->nnodes);
    mg__free(b);
    return dead;
}

/* ---- the dense kernels --------------------------------------------------------------

   A layer over a batch is three small matrix products: z = W x (forward), dW = dz x
   and dx = dz W (backward). Each is computed in tiles of TILE_M x TILE_N sums (an
   m x n block of the product), held in registers while one loop runs over the shared
   dimension, which compilers turn into vector instructions. Every sum still adds its
   terms one at a time in the order of the scalar graph (a neuron's: b, then w_0 x_0,
   w_1 x_1, ...; a weight's adjoint: sample by sample; an input's: neuron by neuron),
   each product rounded before it is added (no fused multiply-add: the build passes
   -ffp-contract=off), so the values are the same to the bit. Matrices are padded with
   zeros to whole tiles; the padded sums are computed and dropped. */
enum { TILE_M = 4, TILE_N = 8 };   /* 8 AVX2 registers of sums (SSE2: 16) */

static size_t round_up(size_t n, size_t m) { return (n + m - 1) / m * m; }

/* One level's part of the work array, matrices row-major with leading dimension ld_in
   (a neuron's nin inputs, then its bias, padded) or ld_out (nout, padded). */
typedef struct {
    double *wt;    /* forward: the weights input by input, biases last: (nin + 1) x ld_out */
    double *xt;    /* forward: TILE_M samples' inputs, input by input: nin x TILE_M */
    double *w;     /* backward: the weights neuron by neuron, bias last: nout x ld_in */
    double *dw;    /* backward: their adjoints: nout x ld_in */
    double *x;     /* backward: the reached samples' inputs and a 1: ld_samples x ld_in */
    double *dz;    /* backward: the reached samples' dz: ld_samples x ld_out */
    double *dzt;   /* backward: the same, neuron by neuron: nout x ld_samples */
    size_t ld_in, ld_out;
    size_t ld_samples;   /* backward: the samples, padded to whole tiles */
} level_work;

/* The one place that sizes and carves level l's work, for up to `samples` samples in
   backward (0 for forward): from `base` (NULL: only counts). Returns its doubles. */
static size_t layout(const mg__batch *b, size_t l, size_t samples, double *base,
                     level_work *lw)
{
    size_t nin = b->level[l - 1].width, nout = b->level[l].width;
    lw->ld_in = round_up(nin + 1, TILE_N);   /* TILE_N is a multiple of TILE_M: these */
    lw->ld_out = round_up(nout, TILE_N);     /* pad to whole tiles of either */
    lw->ld_samples = round_up(samples, TILE_M);
    size_t lds = lw->ld_samples;
    size_t size[7] = {(nin + 1) * lw->ld_out, nin * TILE_M, nout * lw->ld_in,
                      nout * lw->ld_in, lds * lw->ld_in, lds * lw->ld_out, nout * lds};
    double **part[7] = {&lw->wt, &lw->xt, &lw->w, &lw->dw, &lw->x, &lw->dz, &lw->dzt};
    size_t used = 0;
    for (int k = 0; k < 7; k++) {
        *part[k] = base ? base + used : NULL;
        used += size[k];
    }
    return used;
}

/* The most doubles that any level's layout takes. */
static size_t work_size(const mg__batch *b, size_t samples)
{
    size_t most = 0;
    level_work lw;
    for (size_t l = 1; l < b->nlevels; l++) {
        size_t n = layout(b, l, samples, NULL, &lw);
        if (n > most) most = n;
    }
    return most;
}

/* GCC on x86-64 Linux (glibc resolves the choice once, at load time): a copy of the
   kernel for AVX2 (4 doubles per instruction instead of SSE2's 2) beside the portable
   one. The same additions and multiplications, each rounded the same way (no FMA:
   -ffp-contract=off), so both copies give the same bits. Not in sanitizer builds: the
   load-time resolver runs before the sanitizer's runtime is set up, and under
   ThreadSanitizer the program dies there. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) \
    && defined(__GLIBC__) && !defined(__SANITIZE_THREAD__) && !defined(__SANITIZE_ADDRESS__)
#define MG_KERNEL __attribute__((target_clones("avx2", "default"), noinline))
#else
#define MG_KERNEL
#endif

/* GCC and Clang unroll the tile's loops completely when told to, also at -O2, and
   then keep its TILE_M x TILE_N sums in registers (otherwise each sum goes through
   memory at every k). */
#if defined(__GNUC__)
#define MG_UNROLL _Pragma("GCC unroll 8")
#else
#define MG_UNROLL
#endif

/* acc[r][q] += a[k][r] * c[k][q] for k = 0, 1, ..., n - 1 in order (a and c row-major
   with leading dimensions lda and ldc): one tile of a product over k. */
MG_KERNEL static void tile_product(double acc[TILE_M][TILE_N], const double *a,
                                   size_t lda, const double *c, size_t ldc, size_t n)
{
    double t[TILE_M][TILE_N];   /* a local copy, which the compiler keeps in registers */
    memcpy(t, acc, sizeof t);
    for (size_t k = 0; k < n; k++) {
        const double *ak = a + k * lda, *ck = c + k * ldc;
        MG_UNROLL
        for (int r = 0; r < TILE_M; r++)
            MG_UNROLL
            for (int q = 0; q < TILE_N; q++) t[r][q] += ak[r] * ck[q];
    }
    memcpy(acc, t, sizeof t);
}

/* ---- forward: out = act(b + sum_i w_i x_i), summed from b as neuron nodes do ------- */

/* Level l for every sample, in tiles of TILE_M samples x TILE_N neurons. */
static void forward_level(mg__batch *b, size_t l, double *work)
{
    const mg__level *lev = &b->level[l];
    size_t nin = b->level[l - 1].width, nout = lev->width;
    level_work lw;
    layout(b, l, 0, work, &lw);
    size_t ld = lw.ld_out;
    for (size_t j = 0; j < ld; j++) {   /* row by row: each row's parameters in turn */
        mg_node *const *param = j < nout ? lev->rows[j]->param : NULL;
        for (size_t i = 0; i <= nin; i++) lw.wt[i * ld + j] = param ? param[i]->value : 0.0;
    }
    const double *bias = lw.wt + nin * ld;
    mg_activation act = lev->act;
    mg_node proto;
    prototype(&proto, b, (mg_op)(MG_OP_NEURON_LINEAR + act));
    for (size_t s0 = 0; s0 < b->size; s0 += TILE_M) {
        size_t ns = b->size - s0 < TILE_M ? b->size - s0 : TILE_M;
        for (size_t r = 0; r < TILE_M; r++) {
            const mg_node *in = r < ns ? node_at(b, l - 1, s0 + r, 0) : NULL;
            for (size_t i = 0; i < nin; i++) lw.xt[i * TILE_M + r] = in ? in[i].value : 0.0;
        }
        for (size_t j0 = 0; j0 < nout; j0 += TILE_N) {
            double z[TILE_M][TILE_N];
            for (int r = 0; r < TILE_M; r++)
                for (int q = 0; q < TILE_N; q++) z[r][q] = bias[j0 + (size_t)q];
            tile_product(z, lw.xt, TILE_M, lw.wt + j0, ld, nin);
            for (size_t r = 0; r < ns; r++) {
                mg_node *out = node_at(b, l, s0 + r, 0);
                for (size_t q = 0; q < TILE_N && j0 + q < nout; q++)
                    put_node(&out[j0 + q], &proto, mg__activate(act, z[r][q]));
            }
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
    double *w = b ? mg__malloc(work_size(b, 0) * sizeof *w) : NULL;
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
    adopt(b);
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

/* Slice (l, s), the nodes of sample s at level l, is full when a reached node of level
   l + 1 reads it: then every node in it is reached, and its adjoints from the level
   above gather in b->adj (index: the node's). Otherwise only the nodes the generic
   pass reached are (those it marked seen); their adjoints from outside the batch are
   in grad, set aside by the generic pass, which also finishes them. */
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

static int reach_batch(mg__batch *b, mg__row_fn see_row, void *ctx)
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
            for (size_t j = 0; !reached && j < lev->width; j++) reached = out[j].seen;
            b->full[(l - 1) * b->size + s] = (unsigned char)reached;
        }
        /* the parameters of every row, or of the rows of the nodes reached one by one */
        for (size_t j = 0; j < lev->width; j++) {
            int used = any_full;
            for (size_t s = b->lo; !used && s < b->hi; s++) used = node_at(b, l, s, j)->seen;
            if (used && see_row(ctx, lev->rows[j]) != MG_OK) return MG_ENOMEM;
        }
    }
    return MG_OK;
}


/* A reached node's adjoint: from the level above (0 if none) and from outside the
   batch (in grad, if the generic pass reached it). */
static double adjoint(const mg__batch *b, const mg_node *n)
{
    return b->adj[n - b->nodes] + (n->seen ? n->grad : 0.0);
}

/* Slice (l, s) is reached: all of it (full), or a node of it by the generic pass. */
static int slice_reached(const mg__batch *b, size_t l, size_t s)
{
    if (full(b, l, s)) return 1;
    const mg_node *out = node_at(b, l, s, 0);
    for (size_t j = 0; j < b->level[l].width; j++)
        if (out[j].seen) return 1;
    return 0;
}

/* 1 when every reached slice of level l is reached whole (each node: full slice, or
   reached by the generic pass), so that backward_dense applies. */
static int whole_slices(const mg__batch *b, size_t l)
{
    size_t nout = b->level[l].width;
    for (size_t s = b->lo; s < b->hi; s++) {
        if (full(b, l, s)) continue;
        const mg_node *out = node_at(b, l, s, 0);
        size_t reached = 0;
        for (size_t j = 0; j < nout; j++) reached += out[j].seen;
        if (reached != 0 && reached != nout) return 0;
    }
    return 1;
}

/* The weights of level l into lw->w, neuron by neuron (bias last, zeros after). */
static void load_weights(const mg__level *lev, size_t nin, level_work *lw)
{
    for (size_t j = 0; j < lev->width; j++)
        for (size_t i = 0; i < lw->ld_in; i++)
            lw->w[j * lw->ld_in + i] = i <= nin ? lev->rows[j]->param[i]->value : 0.0;
}

/* The level's parameters gain the adjoints in lw->dw; `used[j]` (NULL: all) says which
   neurons were reached. */
static void add_to_params(const mg__level *lev, size_t nin, const level_work *lw,
                          const double *used)
{
    for (size_t j = 0; j < lev->width; j++) {
        if (used && used[j] == 0.0) continue;
        mg_node **param = lev->rows[j]->param;
        for (size_t i = 0; i <= nin; i++) param[i]->grad += lw->dw[j * lw->ld_in + i];
    }
}

/* Level l's reached slices (all reached whole: whole_slices) pass their adjoints on as
   three dense products over the n reached samples: dz; dW = dz^T [x 1] (the bias as
   the weight of an input 1), summed sample by sample; dx = dz W, summed neuron by
   neuron into the adjoints of the level below. */
static void backward_dense(mg__batch *b, size_t l, double *work)
{
    const mg__level *lev = &b->level[l], *below = &b->level[l - 1];
    size_t nin = below->width, nout = lev->width;
    level_work lw;
    layout(b, l, b->hi - b->lo, work, &lw);
    size_t ldi = lw.ld_in, ldo = lw.ld_out, n = 0;
    for (size_t s = b->lo; s < b->hi; s++) {
        if (!slice_reached(b, l, s)) continue;
        const mg_node *in = node_at(b, l - 1, s, 0), *out = node_at(b, l, s, 0);
        double *x = lw.x + n * ldi, *dz = lw.dz + n * ldo;
        for (size_t i = 0; i < nin; i++) x[i] = in[i].value;
        x[nin] = 1.0;   /* the bias's input */
        for (size_t i = nin + 1; i < ldi; i++) x[i] = 0.0;
        for (size_t j = 0; j < ldo; j++)
            dz[j] = j < nout ? mg__neuron_dz((mg_op)out[j].op, out[j].value, adjoint(b, &out[j]))
                             : 0.0;
        n++;
    }
    if (n == 0) return;
    for (size_t j0 = 0; j0 < nout; j0 += TILE_M)
        for (size_t i0 = 0; i0 <= nin; i0 += TILE_N) {
            double acc[TILE_M][TILE_N] = {{0.0}};
            tile_product(acc, lw.dz + j0, ldo, lw.x + i0, ldi, n);
            for (size_t r = 0; r < TILE_M && j0 + r < nout; r++)
                for (size_t q = 0; q < TILE_N; q++) lw.dw[(j0 + r) * ldi + i0 + q] = acc[r][q];
        }
    load_weights(lev, nin, &lw);
    add_to_params(lev, nin, &lw, NULL);
    /* dz neuron by neuron, zeros for the padding samples */
    size_t lds = lw.ld_samples;
    for (size_t j = 0; j < nout; j++)
        for (size_t t = 0; t < lds; t++) lw.dzt[j * lds + t] = t < n ? lw.dz[t * ldo + j] : 0.0;
    size_t s = b->lo;
    for (size_t t0 = 0; t0 < n; t0 += TILE_M) {
        size_t sample[TILE_M], nsample = 0;   /* reached samples t0.. t0 + TILE_M - 1 */
        for (; nsample < TILE_M && s < b->hi; s++)
            if (slice_reached(b, l, s)) sample[nsample++] = s;
        for (size_t i0 = 0; i0 < nin; i0 += TILE_N) {
            double acc[TILE_M][TILE_N] = {{0.0}};
            tile_product(acc, lw.dzt + t0, lds, lw.w + i0, ldi, nout);
            for (size_t r = 0; r < nsample; r++) {
                double *gx = b->adj + below->first + sample[r] * nin;
                for (size_t q = 0; q < TILE_N && i0 + q < nin; q++) gx[i0 + q] += acc[r][q];
            }
        }
    }
}

/* Level l's reached nodes pass their adjoints on one by one: the general case, where
   a slice may be reached in part (a backward from some of a sample's nodes). */
static void backward_nodes(mg__batch *b, size_t l, double *work)
{
    const mg__level *lev = &b->level[l], *below = &b->level[l - 1];
    size_t nin = below->width, nout = lev->width;
    level_work lw;
    layout(b, l, 1, work, &lw);
    size_t ldi = lw.ld_in;
    double *used = lw.dz, *x = lw.x;   /* per neuron: reached; one sample's inputs */
    load_weights(lev, nin, &lw);
    memset(lw.dw, 0, nout * ldi * sizeof *lw.dw);
    memset(used, 0, nout * sizeof *used);
    for (size_t s = b->lo; s < b->hi; s++) {
        const mg_node *out = node_at(b, l, s, 0), *in = node_at(b, l - 1, s, 0);
        double *gx = b->adj + below->first + s * nin;   /* the inputs' adjoints */
        int slice_full = full(b, l, s), loaded = 0;
        for (size_t j = 0; j < nout; j++) {
            if (!slice_full && !out[j].seen) continue;
            double dz = mg__neuron_dz((mg_op)out[j].op, out[j].value, adjoint(b, &out[j]));
            used[j] = 1.0;
            if (!loaded) {
                for (size_t i = 0; i < nin; i++) x[i] = in[i].value;
                loaded = 1;
            }
            const double *wj = lw.w + j * ldi;
            double *dwj = lw.dw + j * ldi;
            for (size_t i = 0; i < nin; i++) {
                dwj[i] += dz * x[i];
                gx[i] += dz * wj[i];
            }
            dwj[nin] += dz;
        }
    }
    add_to_params(lev, nin, &lw, used);
}

static void backward_batch(mg__batch *b, double *work)
{
    for (size_t l = b->nlevels - 1; l > 0; l--) {
        if (whole_slices(b, l))
            backward_dense(b, l, work);
        else
            backward_nodes(b, l, work);
    }
}

static void unreach_batch(mg__batch *b)
{
    for (size_t l = 1; l < b->nlevels; l++)
        for (size_t j = 0; j < b->level[l].width; j++) b->level[l].rows[j]->seen = 0;
    b->reached = 0;
}

/* The adjoints from the level above join the gradients of full slices (a node the
   generic pass recorded holds its other adjoint in grad, and is finished by it). */
static void finish_batch(mg__batch *b)
{
    for (size_t l = 0; l + 1 < b->nlevels; l++) {
        size_t width = b->level[l].width;
        for (size_t s = b->lo; s < b->hi; s++) {
            if (!full(b, l, s)) continue;
            mg_node *slice = node_at(b, l, s, 0);
            const double *adj = b->adj + b->level[l].first + s * width;
            for (size_t j = 0; j < width; j++) slice[j].grad += adj[j];
        }
    }
    unreach_batch(b);
}

/* ---- the hooks of mg_backward (backward.c), over the list of batches it reaches ---- */

void mg__batch_enter(mg__batch **reached, mg_node *c)
{
    mg__batch *b = c->u.batch;
    size_t k = (size_t)(c - b->nodes);
    if (!b->reached) {
        b->reached = 1;
        b->kmin = b->kmax = k;
        b->next_reached = *reached;
        *reached = b;
    } else if (k < b->kmin) {
        b->kmin = k;
    } else if (k > b->kmax) {
        b->kmax = k;
    }
}

/* The scratch, laid out here only: `doubles` is one work array (the largest any
   batch's level needs), then each batch's adjoints; `flags` is each batch's slice
   flags. */
static size_t shared_work(const mg__batch *reached)
{
    size_t most = 0;
    for (const mg__batch *b = reached; b; b = b->next_reached)
        if (work_size(b, b->size) > most) most = work_size(b, b->size);
    return most;
}

void mg__batch_scratch_size(const mg__batch *reached, size_t *doubles, size_t *flags)
{
    *doubles = shared_work(reached);
    *flags = 0;
    for (const mg__batch *b = reached; b; b = b->next_reached) {
        *doubles += b->nnodes;
        *flags += b->size * b->nlevels;
    }
}

int mg__batch_reach_all(mg__batch *reached, double *doubles, unsigned char *flags,
                        mg__row_fn see_row, void *ctx)
{
    if (!reached) return MG_OK;   /* and the scratch may be NULL */
    double *adj = doubles + shared_work(reached);
    for (mg__batch *b = reached; b; b = b->next_reached) {
        b->adj = adj;
        b->full = flags;
        adj += b->nnodes;
        flags += b->size * b->nlevels;
        if (reach_batch(b, see_row, ctx) != MG_OK) return MG_ENOMEM;
    }
    return MG_OK;
}

void mg__batch_backward_all(mg__batch *reached, double *doubles)
{
    for (mg__batch *b = reached; b; b = b->next_reached) backward_batch(b, doubles);
}

void mg__batch_finish_all(mg__batch *reached)
{
    for (mg__batch *b = reached; b; b = b->next_reached) finish_batch(b);
}

void mg__batch_unreach_all(mg__batch *reached)
{
    for (mg__batch *b = reached; b; b = b->next_reached) unreach_batch(b);
}
