/* backward.c -- reverse-mode backpropagation without recursion.
 *
 * 1. Discover: walk the graph from the root with an explicit work list (never the C
 *    stack). Every reachable node's gradient moves aside (`saved`), so that `grad`
 *    can hold this call's adjoint, starting from 0. For inner nodes, count the edges
 *    from reachable parents that point at them (`pending`). Leaves pass nothing on,
 *    so they need no count and no turn, only a mark (`seen`); a layer neuron's
 *    weights (its mg__row) are leaves found through the row rather than through an
 *    edge each.
 * 2. Propagate (Kahn's algorithm): the root's adjoint is 1. An inner node whose
 *    parents have all passed their share down holds its final adjoint: it applies its
 *    op's local derivative to its operands, and its gradient becomes saved + adjoint.
 *    This visits nodes in a reverse topological order, with no sort and no recursion.
 * 3. Finish the leaves: each gradient becomes saved + this call's adjoint. So a second
 *    call adds exactly the first call's gradient once more, as PyTorch does, and never
 *    re-propagates old gradients.
 *
 * The nodes of a batched forward pass (batch.c) store no edges: to steps 1 and 2 they
 * are leaves, which nodes above them (a loss) pass adjoints to. Each batch that step 1
 * reaches then finds its own reached nodes and parameters (end of step 1, before any
 * gradient changes) and backpropagates through them, level by level (after step 2).
 *
 * `pending` (or `seen`), `index`, a row's `seen` and the temporary adjoints live in
 * nodes that graphs may share, so backward passes run one at a time (a process-wide
 * lock).
 */
#include "mg_internal.h"
#include "mg_lock.h"

static mg__lock backward_lock = MG__LOCK_INIT;

/* Hints for GCC and Clang (other compilers go without): a rarely taken path kept out
   of line, and a load of memory soon needed. */
#if defined(__GNUC__) || defined(__clang__)
#define MG_COLD __attribute__((noinline, cold))
#define MG_PREFETCH(p) __builtin_prefetch(p)
#else
#define MG_COLD
#define MG_PREFETCH(p) ((void)(p))
#endif

/* The work arrays are kept from one call to the next (under the lock): fresh large
   arrays would cost a page fault every 256 nodes, as much as the backward pass
   itself. Arrays for more than KEEP_NODES nodes are given back after the call. */
enum { KEEP_NODES = 1 << 20 };

/* How far ahead in the discovery list step 1 prefetches operands (measured: 8 to 32
   do about as well on a random 100k-node graph). */
enum { PREFETCH_AHEAD = 16 };

/* Nodes with their gradients from before this call. */
typedef struct {
    mg_node **nodes;
    double *saved;     /* saved[i]: the gradient nodes[i] had */
    size_t len, cap;
} node_list;

typedef struct {
    node_list inner;   /* inner nodes in discovery order (n->index is the position);
                          during step 2, the stack of nodes ready to propagate */
    node_list leaves;  /* nodes without stored edges: leaves and batch nodes */
    mg__batch *batches;   /* batches with a reached node, linked by next_reached */
    double *work;      /* the batches' scratch (batch.c lays it out) */
    unsigned char *flags;   /* ... and their row flags */
    size_t work_cap, flags_cap;
} reachable;

/* Cold: the arrays are kept between calls, so they rarely grow. Out of line, so that
   append stays small enough to inline into the walk. */
static MG_COLD int grow(node_list *l)
{
    size_t cap = l->cap ? 2 * l->cap : 1024;
    if (cap > UINT32_MAX) return MG_ENOMEM;   /* `index` is 32 bits */
    mg_node **nodes = mg__realloc(l->nodes, cap * sizeof *nodes);
    if (!nodes) return MG_ENOMEM;
    l->nodes = nodes;
    double *saved = mg__realloc(l->saved, cap * sizeof *saved);
    if (!saved) return MG_ENOMEM;
    l->saved = saved;
    l->cap = cap;
    return MG_OK;
}

/* Records a node seen for the first time and moves its gradient aside. Inlined: it
   runs once per reachable node, and a call costs about as much as its body. */
static inline int append(node_list *l, mg_node *n)
{
    if (l->len == l->cap && grow(l) != MG_OK) return MG_ENOMEM;
    n->index = (uint32_t)l->len;
    l->nodes[l->len] = n;
    l->saved[l->len] = n->grad;
    n->grad = 0.0;
    l->len++;
    return MG_OK;
}

/* A leaf or batch node seen for the first time. */
static int first_leaf(reachable *r, mg_node *c)
{
    if (append(&r->leaves, c) != MG_OK) return MG_ENOMEM;
    c->seen = 1;
    if (mg__in_batch(c)) mg__batch_enter(&r->batches, c);
    return MG_OK;
}

/* An edge from a discovered node to c (small, to be inlined into the walk). A node
   without stored edges is only marked seen; one with edges counts its parents' edges
   in `pending` (the same field: mg_internal.h). */
static inline int see(reachable *r, mg_node *c)
{
    if (c->nchild == 0) return c->seen ? MG_OK : first_leaf(r, c);
    if (c->pending == 0 && append(&r->inner, c) != MG_OK) return MG_ENOMEM;
    c->pending++;
    return MG_OK;
}

/* A row's parameters, once per call while row->seen holds. */
static int see_row(reachable *r, mg__row *row)
{
    if (row->seen) return MG_OK;
    row->seen = 1;
    int rc = MG_OK;
    for (uint32_t k = 0; rc == MG_OK && k <= row->nin; k++) rc = see(r, row->param[k]);
    return rc;
}

/* Undoes step 1 after a failed allocation: no gradient has changed. */
static void undo_discover(reachable *r)
{
    mg__batch_unreach_all(r->batches);
    for (size_t i = 0; i < r->inner.len; i++) {
        mg_node *n = r->inner.nodes[i];
        n->grad = r->inner.saved[i];
        n->pending = 0;
        if (mg__is_neuron(n)) mg__row_of(n)->seen = 0;
    }
    for (size_t i = 0; i < r->leaves.len; i++) {
        r->leaves.nodes[i]->grad = r->leaves.saved[i];
        r->leaves.nodes[i]->seen = 0;
    }
}

static reachable scratch;   /* guarded by backward_lock */

/* see_row for batch.c: the parameters of a batch's rows in use are leaves to record. */
static int see_batch_row(void *r, mg__row *row) { return see_row(r, row); }

/* Grows *p to hold at least n elements of `size` bytes (its capacity in *cap). */
static int reserve(void *p, size_t *cap, size_t n, size_t size)
{
    if (n <= *cap) return MG_OK;
    void *grown = n > SIZE_MAX / size ? NULL : mg__realloc(*(void **)p, n * size);
    if (!grown) return MG_ENOMEM;
    *(void **)p = grown;
    *cap = n;
    return MG_OK;
}

/* The nodes inside the reached batches (batch.c), once the generic walk is done: only
   the generic walk reaches batch nodes from outside. batch.c says how much scratch
   they need and lays it out; here it is only kept between calls. */
static int reach_batches(reachable *r)
{
    size_t doubles, flags;
    mg__batch_scratch_size(r->batches, &doubles, &flags);
    if (reserve(&r->work, &r->work_cap, doubles, sizeof(double)) != MG_OK ||
        reserve(&r->flags, &r->flags_cap, flags, 1) != MG_OK)
        return MG_ENOMEM;
    return mg__batch_reach_all(r->batches, r->work, r->flags, see_batch_row, r);
}

/* Step 1. `inner.nodes` is also the work list: a node is appended when first seen and
   read once later, to see its operands. A root without stored edges is a leaf to it. */
static int discover(mg_node *root, reachable *r)
{
    int rc = root->nchild ? append(&r->inner, root) : see(r, root);
    for (size_t i = 0; rc == MG_OK && i < r->inner.len; i++) {
        mg_node *n = r->inner.nodes[i];
        /* A large graph's nodes lie at random in memory: fetch the operands of a node
           further down the list while this one's are seen. */
        if (i + PREFETCH_AHEAD < r->inner.len) {
            mg_node *m = r->inner.nodes[i + PREFETCH_AHEAD];
            MG_PREFETCH(m->child[0]);
            MG_PREFETCH(m->child[m->nchild - 1]);
        }
        for (uint32_t k = 0; rc == MG_OK && k < n->nchild; k++) rc = see(r, n->child[k]);
        if (rc == MG_OK && mg__is_neuron(n)) rc = see_row(r, mg__row_of(n));
    }
    if (rc == MG_OK) rc = reach_batches(r);
    if (rc != MG_OK) undo_discover(r);
    return rc;
}

/* Step 2. Each inner node enters `ready` once, so the discovery list, no longer
   needed, has room for it. */
static void propagate(mg_node *root, reachable *r)
{
    mg_node **ready = r->inner.nodes;
    size_t top = 0;
    root->grad = 1.0;
    if (root->nchild == 0) return;
    ready[top++] = root;
    while (top) {
        mg_node *n = ready[--top];
        double g = n->grad;
        mg__backward_step(n, g);
        n->grad = r->inner.saved[n->index] + g;
        if (mg__is_neuron(n)) mg__row_of(n)->seen = 0;
        for (uint32_t k = 0; k < n->nchild; k++) {
            mg_node *c = n->child[k];
            if (c->nchild && --c->pending == 0) ready[top++] = c;
        }
    }
}

/* Step 3. */
static void finish_leaves(reachable *r)
{
    mg__batch_finish_all(r->batches);
    for (size_t i = 0; i < r->leaves.len; i++) {
        mg_node *leaf = r->leaves.nodes[i];
        leaf->grad += r->leaves.saved[i];
        leaf->seen = 0;
    }
}

static void free_list(node_list *l)
{
    mg__free(l->nodes);
    mg__free(l->saved);
    *l = (node_list){0};
}

static void free_scratch(void)
{
    free_list(&scratch.inner);
    free_list(&scratch.leaves);
    mg__free(scratch.work);
    mg__free(scratch.flags);
    scratch.work = NULL;
    scratch.flags = NULL;
    scratch.work_cap = scratch.flags_cap = 0;
}

/* fork.c: fork() waits, in this lock, for a running backward pass to finish. */
void mg__backward_lock(void) { mg__lock_acquire(&backward_lock); }
void mg__backward_unlock(void) { mg__lock_release(&backward_lock); }

/* mg_trim and mg_set_allocator: the arrays go back to the allocator they came from. */
void mg__backward_trim(void)
{
    mg__lock_acquire(&backward_lock);
    free_scratch();
    mg__lock_release(&backward_lock);
}

int mg_backward(mg_node *root)
{
    if (!root) return MG_EINVAL;
    mg__lock_acquire(&backward_lock);
    scratch.inner.len = scratch.leaves.len = 0;
    scratch.batches = NULL;
    int rc = discover(root, &scratch);
    if (rc == MG_OK) {
        propagate(root, &scratch);
        mg__batch_backward_all(scratch.batches, scratch.work);   /* step 2 in the batches */
        finish_leaves(&scratch);
    }
    if (scratch.inner.cap > KEEP_NODES || scratch.leaves.cap > KEEP_NODES ||
        scratch.work_cap > KEEP_NODES || scratch.flags_cap > KEEP_NODES) {
        free_scratch();
    }
    mg__lock_release(&backward_lock);
    return rc;
}

/* The backward lock keeps this step out of a concurrent mg_backward, which uses the
   gradients of the nodes it reaches as scratch while it runs. */
int mg_backward_step(mg_node *n)
{
    if (!n) return MG_EINVAL;
    mg__lock_acquire(&backward_lock);
    if (mg__in_batch(n))
        mg__batch_node_backward(n, n->grad);
    else
        mg__backward_step(n, n->grad);
    mg__lock_release(&backward_lock);
    return MG_OK;
}
