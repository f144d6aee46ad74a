/* backward.c -- reverse-mode backpropagation without recursion.
 *
 * 1. Discover: walk the graph from the root (an explicit work list, never the C
 *    stack), count for every reachable node how many edges from reachable parents
 *    point at it (`pending`), save its gradient and zero it.
 * 2. Propagate (Kahn's algorithm): the root gets adjoint 1. A node whose parents
 *    have all passed their share down to it holds its final adjoint in `grad`; it
 *    applies its op's local derivative to its children and is done. Visiting nodes
 *    in this order is a reverse topological order, with no sort and no recursion.
 * 3. Restore: every node's gradient becomes saved + this call's adjoint, so a second
 *    call adds the derivative once more and never re-propagates old gradients.
 *
 * `pending` and the temporary zeroing of `grad` live in shared nodes, so backward
 * passes run one at a time (a process-wide lock).
 */
#include "mg_internal.h"
#include "mg_lock.h"

static mg_lock backward_lock = MG_LOCK_INIT;

typedef struct {
    mg_node **nodes;   /* reachable nodes in discovery order */
    double *saved;     /* saved[i]: gradient of nodes[i] before this call */
    size_t len, cap;
} discovered;

static int grow(discovered *d)
{
    size_t cap = d->cap ? 2 * d->cap : 1024;
    mg_node **nodes = mg__realloc(d->nodes, cap * sizeof *nodes);
    if (!nodes) return MG_ENOMEM;
    d->nodes = nodes;
    double *saved = mg__realloc(d->saved, cap * sizeof *saved);
    if (!saved) return MG_ENOMEM;
    d->saved = saved;
    d->cap = cap;
    return MG_OK;
}

/* Appends a node seen for the first time; its gradient moves to `saved`. */
static int append(discovered *d, mg_node *n)
{
    if (d->len == d->cap && grow(d) != MG_OK) return MG_ENOMEM;
    d->nodes[d->len] = n;
    d->saved[d->len] = n->grad;
    n->grad = 0.0;
    d->len++;
    return MG_OK;
}

/* Undoes step 1 after a failed allocation. */
static void undo_discover(discovered *d)
{
    for (size_t i = 0; i < d->len; i++) {
        d->nodes[i]->grad = d->saved[i];
        d->nodes[i]->pending = 0;
    }
}

/* Step 1. The `nodes` array doubles as the work list: a node is appended when first
   seen, and read once later to count its children's incoming edges. */
static int discover(mg_node *root, discovered *d)
{
    if (append(d, root) != MG_OK) return MG_ENOMEM;
    for (size_t i = 0; i < d->len; i++) {
        mg_node *n = d->nodes[i];
        for (int k = 0; k < 2; k++) {
            mg_node *c = n->child[k];
            if (c && c->pending++ == 0 && append(d, c) != MG_OK) {
                c->pending = 0;   /* not on the list yet, so undo it by hand */
                undo_discover(d);
                return MG_ENOMEM;
            }
        }
    }
    return MG_OK;
}

/* Step 2. `ready` holds nodes whose adjoint is final; each node enters it once. */
static void propagate(mg_node *root, mg_node **ready)
{
    size_t top = 0;
    root->grad = 1.0;
    ready[top++] = root;
    while (top) {
        mg_node *n = ready[--top];
        mg__backward_step(n, n->grad);
        for (int k = 0; k < 2; k++) {
            mg_node *c = n->child[k];
            if (c && --c->pending == 0) ready[top++] = c;
        }
    }
}

int mg_backward(mg_node *root)
{
    if (!root) return MG_EINVAL;
    mg_lock_acquire(&backward_lock);
    discovered d = {0};
    mg_node **ready = NULL;
    int rc = discover(root, &d);
    if (rc == MG_OK) {
        ready = mg__malloc(d.len * sizeof *ready);
        if (!ready) {
            undo_discover(&d);
            rc = MG_ENOMEM;
        }
    }
    if (rc == MG_OK) {
        propagate(root, ready);
        for (size_t i = 0; i < d.len; i++) d.nodes[i]->grad += d.saved[i];
    }
    mg_lock_release(&backward_lock);
    mg__free(ready);
    mg__free(d.nodes);
    mg__free(d.saved);
    return rc;
}
