/* backward.c -- reverse-mode backpropagation without recursion.
 *
 * 1. Discover: walk the graph from the root with an explicit work list (never the C
 *    stack). For every reachable node, count the edges from reachable parents that
 *    point at it (`pending`), and move its gradient aside (`saved`), so that `grad`
 *    can hold this call's adjoint, starting from 0. (Leaves too: adding their share
 *    straight into `grad` would be faster, but a second call would then not add
 *    exactly the first call's gradient, as PyTorch does.)
 * 2. Propagate (Kahn's algorithm): the root's adjoint is 1. A node whose parents have
 *    all passed their share down holds its final adjoint: it applies its op's local
 *    derivative to its children, and its gradient becomes saved + adjoint. This visits
 *    nodes in a reverse topological order, with no sort and no recursion, and a
 *    second call adds the derivative once more without re-propagating old gradients.
 *
 * `pending`, `index` and the temporary adjoint live in nodes that graphs may share,
 * so backward passes run one at a time (a process-wide lock).
 */
#include "mg_internal.h"
#include "mg_lock.h"

static mg_lock backward_lock = MG_LOCK_INIT;

/* The work arrays are kept from one call to the next (under the lock): fresh large
   arrays would cost a page fault every 256 nodes, as much as the backward pass
   itself. Arrays for more than KEEP_NODES nodes are given back after the call. */
enum { KEEP_NODES = 1 << 20 };

typedef struct {
    mg_node **nodes;   /* reachable nodes in discovery order; later the ready stack */
    double *saved;     /* saved[n->index]: n's gradient before this call */
    size_t len, cap;
} reachable;

static int grow(reachable *r)
{
    size_t cap = r->cap ? 2 * r->cap : 1024;
    if (cap > UINT32_MAX) return MG_ENOMEM;   /* `index` is 32 bits */
    mg_node **nodes = mg__realloc(r->nodes, cap * sizeof *nodes);
    if (!nodes) return MG_ENOMEM;
    r->nodes = nodes;
    double *saved = mg__realloc(r->saved, cap * sizeof *saved);
    if (!saved) return MG_ENOMEM;
    r->saved = saved;
    r->cap = cap;
    return MG_OK;
}

/* Records a node seen for the first time. */
static int append(reachable *r, mg_node *n)
{
    if (r->len == r->cap && grow(r) != MG_OK) return MG_ENOMEM;
    n->index = (uint32_t)r->len;
    r->nodes[r->len] = n;
    r->saved[r->len] = n->grad;
    n->grad = 0.0;
    r->len++;
    return MG_OK;
}

/* Undoes step 1 after a failed allocation: no gradient has changed. */
static void undo_discover(reachable *r)
{
    for (size_t i = 0; i < r->len; i++) {
        r->nodes[i]->grad = r->saved[i];
        r->nodes[i]->pending = 0;
    }
}

/* Step 1. `nodes` is also the work list: a node is appended when first seen and read
   once later, to count its children's incoming edges. */
static int discover(mg_node *root, reachable *r)
{
    if (append(r, root) != MG_OK) return MG_ENOMEM;
    for (size_t i = 0; i < r->len; i++) {
        mg_node *n = r->nodes[i];
        for (uint32_t k = 0; k < n->nchild; k++) {
            mg_node *c = n->child[k];
            if (c->pending++ == 0 && append(r, c) != MG_OK) {
                c->pending = 0;   /* not on the list yet, so undo it by hand */
                undo_discover(r);
                return MG_ENOMEM;
            }
        }
    }
    return MG_OK;
}

/* Step 2. `ready` holds nodes whose adjoint is final; each node enters it once, so
   the discovery list, no longer needed, has room for it. */
static void propagate(mg_node *root, reachable *r)
{
    mg_node **ready = r->nodes;
    size_t top = 0;
    root->grad = 1.0;
    ready[top++] = root;
    while (top) {
        mg_node *n = ready[--top];
        double g = n->grad;
        mg__backward_step(n, g);
        n->grad = r->saved[n->index] + g;
        for (uint32_t k = 0; k < n->nchild; k++) {
            mg_node *c = n->child[k];
            if (--c->pending == 0) ready[top++] = c;
        }
    }
}

static reachable scratch;   /* guarded by backward_lock */

/* mg_trim and mg_set_allocator: the arrays go back to the allocator they came from. */
void mg__backward_trim(void)
{
    mg_lock_acquire(&backward_lock);
    mg__free(scratch.nodes);
    mg__free(scratch.saved);
    scratch = (reachable){0};
    mg_lock_release(&backward_lock);
}

int mg_backward(mg_node *root)
{
    if (!root) return MG_EINVAL;
    mg_lock_acquire(&backward_lock);
    scratch.len = 0;
    int rc = discover(root, &scratch);
    if (rc == MG_OK) propagate(root, &scratch);
    if (scratch.cap > KEEP_NODES) {
        mg__free(scratch.nodes);
        mg__free(scratch.saved);
        scratch = (reachable){0};
    }
    mg_lock_release(&backward_lock);
    return rc;
}
