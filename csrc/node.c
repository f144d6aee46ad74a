/* node.c -- allocating, counting, retaining and freeing nodes. */
#include <stdlib.h>

#include "mg_internal.h"
#include "mg_lock.h"

/* The allocator in use. `custom` stays 0 while it is the C library's, so that a node,
   made and freed millions of times, costs one predictable branch and a direct call to
   malloc, not a call through a pointer. mg_set_allocator documents that it must not
   race with other calls, so these are plain variables read without a lock. */
static int custom;
static mg_allocator current;

/* Every allocation of the core goes through these three. An installed allocator never
   sees a size of 0 (so NULL always means failure) nor a NULL pointer to resize or free. */
void *mg__malloc(size_t size)
{
    if (!custom) return malloc(size);
    return current.malloc_fn(size ? size : 1, current.ctx);
}

void *mg__realloc(void *p, size_t size)
{
    if (!custom) return realloc(p, size);
    if (!p) return current.malloc_fn(size ? size : 1, current.ctx);
    return current.realloc_fn(p, size ? size : 1, current.ctx);
}

void mg__free(void *p)
{
    if (!custom) {
        free(p);
    } else if (p) {
        current.free_fn(p, current.ctx);
    }
}

/* Reference counts and the live count change under one lock, not with atomics: a
   layer's node adds dozens of edges at once, and one lock round trip for all of them
   is far cheaper than an atomic instruction per edge. A scalar op pays one lock
   round trip to make its node and one to release it, as two atomics would cost. */
static mg_lock graph_lock = MG_LOCK_INIT;
static size_t live_nodes;   /* guarded by graph_lock */

void mg__graph_lock(void) { mg_lock_acquire(&graph_lock); }
void mg__graph_unlock(void) { mg_lock_release(&graph_lock); }

/* The one place nodes are born: value set, gradient 0, the caller's reference, and
   room for nchild operands, which the caller fills in before mg__adopt. */
mg_node *mg__alloc_node(mg_op op, double value, uint32_t nchild)
{
    if (nchild > MG_MAX_CHILDREN) return NULL;
    mg_node *n = mg__malloc(sizeof *n + nchild * sizeof n->child[0]);
    if (!n) return NULL;
    n->value = value;
    n->grad = 0.0;
    n->u.constant = 0.0;
    n->refs = 1;
    n->pending = 0;
    n->index = 0;
    n->op = op;
    n->nchild = nchild;
    return n;
}

/* Makes a fully built node live: each operand gains a reference (one per edge, so
   x * x holds x twice). The caller holds the graph lock. */
void mg__adopt(mg_node *n)
{
    for (uint32_t i = 0; i < n->nchild; i++) n->child[i]->refs++;
    live_nodes++;
}

/* A node of up to two operands (a, then b; NULL where absent). */
mg_node *mg__new_node(mg_op op, double value, mg_node *a, mg_node *b, double constant)
{
    mg_node *n = mg__alloc_node(op, value, (a != NULL) + (b != NULL));
    if (!n) return NULL;
    n->u.constant = constant;
    if (a) n->child[0] = a;
    if (b) n->child[a != NULL] = b;
    mg__graph_lock();
    mg__adopt(n);
    mg__graph_unlock();
    return n;
}

mg_node *mg_leaf(double value) { return mg__new_node(MG_OP_LEAF, value, NULL, NULL, 0.0); }

mg_node *mg_retain(mg_node *n)
{
    if (!n) return NULL;
    mg__graph_lock();
    /* Parents alone cannot overflow the count (2^32 edges would need 32 GB of child
       pointers), but a caller's retains can: refuse the one that would. */
    int ok = n->refs != UINT32_MAX;
    if (ok) n->refs++;
    mg__graph_unlock();
    return ok ? n : NULL;
}

/* Freeing a chain of 10 million nodes must not recurse: dead nodes wait on a list
   threaded through their own (no longer needed) constant field. */
void mg_release(mg_node *n)
{
    if (!n) return;
    mg__graph_lock();
    if (--n->refs == 0) {
        n->u.next_dead = NULL;
        mg_node *dead = n;
        while (dead) {
            mg_node *d = dead;
            dead = d->u.next_dead;
            for (uint32_t i = 0; i < d->nchild; i++) {
                mg_node *c = d->child[i];
                if (--c->refs == 0) {
                    c->u.next_dead = dead;
                    dead = c;
                }
            }
            mg__free(d);
            live_nodes--;
        }
    }
    mg__graph_unlock();
}

size_t mg_live_nodes(void)
{
    mg__graph_lock();
    size_t live = live_nodes;
    mg__graph_unlock();
    return live;
}

/* Memory must go back to the allocator it came from, so the allocator changes only
   when no node is alive and the cached work arrays have been given back. */
int mg_set_allocator(const mg_allocator *a)
{
    if (a && (!a->malloc_fn || !a->realloc_fn || !a->free_fn)) return MG_EINVAL;
    if (mg_live_nodes() != 0) return MG_EINVAL;
    mg_trim();
    if (a) {
        current = *a;
        custom = 1;
    } else {
        custom = 0;
        current = (mg_allocator){0};
    }
    return MG_OK;
}

void mg_trim(void) { mg__backward_trim(); }

int mg_version_number(void) { return MG_VERSION_NUMBER; }

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
