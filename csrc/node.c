/* node.c -- allocating, counting, retaining and freeing nodes. */
#include <stdlib.h>

#include "mg_internal.h"

static _Atomic size_t live_nodes;

void *mg__malloc(size_t size) { return malloc(size); }
void *mg__realloc(void *p, size_t size) { return realloc(p, size); }
void mg__free(void *p) { free(p); }

/* The one place nodes are born: value set, gradient 0, one reference for the
   caller, children still to be set with mg__set_child. */
mg_node *mg__alloc_node(mg_op op, double value, uint32_t nchild)
{
    if (nchild > MG_MAX_CHILDREN) return NULL;
    mg_node *n = mg__malloc(sizeof *n + nchild * sizeof n->child[0]);
    if (!n) return NULL;
    n->value = value;
    n->grad = 0.0;
    n->u.constant = 0.0;
    atomic_init(&n->refs, 1);
    n->pending = 0;
    n->index = 0;
    n->op = op;
    n->nchild = nchild;
    atomic_fetch_add_explicit(&live_nodes, 1, memory_order_relaxed);
    return n;
}

/* Makes c operand i of n, taking a reference to it. */
void mg__set_child(mg_node *n, uint32_t i, mg_node *c)
{
    atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
    n->child[i] = c;
}

/* A node of up to two operands (a, then b; NULL where absent). */
mg_node *mg__new_node(mg_op op, double value, mg_node *a, mg_node *b, double constant)
{
    mg_node *n = mg__alloc_node(op, value, (a != NULL) + (b != NULL));
    if (!n) return NULL;
    n->u.constant = constant;
    if (a) mg__set_child(n, 0, a);
    if (b) mg__set_child(n, 1, b);
    return n;
}

mg_node *mg_leaf(double value) { return mg__new_node(MG_OP_LEAF, value, NULL, NULL, 0.0); }

mg_node *mg_retain(mg_node *n)
{
    if (!n) return NULL;
    /* Parents alone can never overflow the count (2^32 parents would need 256 GB),
       but a caller's retains can: refuse the one that would. */
    uint32_t refs = atomic_load_explicit(&n->refs, memory_order_relaxed);
    do {
        if (refs == UINT32_MAX) return NULL;
    } while (!atomic_compare_exchange_weak_explicit(&n->refs, &refs, refs + 1,
                                                    memory_order_relaxed,
                                                    memory_order_relaxed));
    return n;
}

/* Drops one reference; true when it was the last. The acquire/release pair orders
   every other thread's last use of the node before the free. */
static int drop_ref(mg_node *n)
{
    return atomic_fetch_sub_explicit(&n->refs, 1, memory_order_acq_rel) == 1;
}

/* Freeing a chain of 10 million nodes must not recurse: dead nodes wait on a list
   threaded through their own (no longer needed) constant field. */
void mg_release(mg_node *n)
{
    if (!n || !drop_ref(n)) return;
    n->u.next_dead = NULL;
    mg_node *dead = n;
    size_t freed = 0;
    while (dead) {
        mg_node *d = dead;
        dead = d->u.next_dead;
        for (uint32_t i = 0; i < d->nchild; i++) {
            mg_node *c = d->child[i];
            if (drop_ref(c)) {
                c->u.next_dead = dead;
                dead = c;
            }
        }
        mg__free(d);
        freed++;
    }
    atomic_fetch_sub_explicit(&live_nodes, freed, memory_order_relaxed);
}

size_t mg_live_nodes(void) { return atomic_load_explicit(&live_nodes, memory_order_relaxed); }

double mg_value(const mg_node *n) { return n->value; }
double mg_grad(const mg_node *n) { return n->grad; }
void mg_set_value(mg_node *n, double value) { n->value = value; }
void mg_set_grad(mg_node *n, double grad) { n->grad = grad; }
mg_op mg_op_of(const mg_node *n) { return (mg_op)n->op; }

double mg_constant(const mg_node *n)
{
    return n->op >= MG_OP_ADD_CONST ? n->u.constant : 0.0;
}

size_t mg_child_count(const mg_node *n) { return n->nchild; }

mg_node *mg_child(const mg_node *n, size_t i) { return i < n->nchild ? n->child[i] : NULL; }
