/* node.c -- allocating, counting, retaining and freeing nodes. */
#include <stdatomic.h>
#include <stdlib.h>

#include "mg_internal.h"
#include "mg_lock.h"

/* The allocator in use. `custom` stays 0 while it is the C library's, so that a node,
   made and freed millions of times, costs one predictable branch and a direct call to
   malloc, not a call through a pointer. mg_set_allocator documents that it must not
   race with other calls, so these are plain variables read without a lock. */
static int custom;
static mg_allocator current;

/* Blocks of an installed allocator not yet given back, so that mg_set_allocator can
   refuse to leave it while any are (a layer or optimizer holds blocks too, and one
   over no parameters holds no node). Counted on the installed allocator's path only:
   the default path stays a bare call to malloc. */
static _Atomic size_t custom_blocks;

static void *custom_malloc(size_t size)
{
    void *p = current.malloc_fn(size ? size : 1, current.ctx);
    if (p) atomic_fetch_add_explicit(&custom_blocks, 1, memory_order_relaxed);
    return p;
}

/* Every allocation of the core goes through these three. An installed allocator never
   sees a size of 0 (so NULL always means failure) nor a NULL pointer to resize or free. */
void *mg__malloc(size_t size)
{
    if (!custom) return malloc(size);
    return custom_malloc(size);
}

void *mg__realloc(void *p, size_t size)
{
    if (!custom) return realloc(p, size);
    if (!p) return custom_malloc(size);
    return current.realloc_fn(p, size ? size : 1, current.ctx);
}

void mg__free(void *p)
{
    if (!custom) {
        free(p);
    } else if (p) {
        current.free_fn(p, current.ctx);
        atomic_fetch_sub_explicit(&custom_blocks, 1, memory_order_relaxed);
    }
}

/* Reference counts and the live count change under one lock, not with atomics: a
   layer's node adds dozens of edges at once, and one lock round trip for all of them
   is far cheaper than an atomic instruction per edge. A scalar op pays a few short
   lock round trips (take a cached node, adopt it, release it), about what the atomics
   on its counts would cost. */
static mg__spin graph_lock = MG__SPIN_INIT;
static size_t live_nodes;   /* guarded by graph_lock */

void mg__graph_lock(void) { mg__spin_acquire(&graph_lock); }
void mg__graph_unlock(void) { mg__spin_release(&graph_lock); }

/* Freed nodes with up to CACHE_SLOTS operand slots wait on a list per size to be
   reused: a training step makes and frees thousands of nodes, and malloc and free
   cost as much as the rest of making a node. Only with the C library's allocator (an
   installed one sees every block); at most CACHE_BYTES in all; mg_trim empties the
   lists. Guarded by graph_lock.
   Compiling with -DMG_NO_NODE_CACHE makes the cache hold nothing, so every dead node
   goes straight back to free: a sanitizer build wants that, since AddressSanitizer
   sees a use of a freed node only if the node was really freed (a cached one is still
   allocated memory, and a reused one is another node's). build_ext.py sets it for
   PYMICROGRAD_SANITIZE builds and CMake for MG_SANITIZE builds. The normal build
   compiles exactly the cache as it was. */
#ifdef MG_NO_NODE_CACHE
enum { CACHE_SLOTS = 32, CACHE_BYTES = 0 };
#else
enum { CACHE_SLOTS = 32, CACHE_BYTES = 16 << 20 };
#endif
static mg_node *cache[CACHE_SLOTS + 1];
static size_t cached_bytes;

static size_t node_bytes(uint32_t slots) { return sizeof(mg_node) + slots * sizeof(mg_node *); }
static uint32_t slots_of(const mg_node *n) { return n->nchild + (uint32_t)mg__is_neuron(n); }

/* A cached node with room for `slots` operands, or NULL. */
static mg_node *reuse(uint32_t slots)
{
    if (custom || slots > CACHE_SLOTS) return NULL;
    mg__graph_lock();
    mg_node *n = cache[slots];
    if (n) {
        cache[slots] = n->u.next_dead;
        cached_bytes -= node_bytes(slots);
    }
    mg__graph_unlock();
    return n;
}

/* Gives a dead node's memory back: to its cache list, or to the allocator. Graph lock
   held. */
static void recycle(mg_node *d)
{
    uint32_t slots = slots_of(d);
    if (!custom && slots <= CACHE_SLOTS && cached_bytes + node_bytes(slots) <= CACHE_BYTES) {
        d->u.next_dead = cache[slots];
        cache[slots] = d;
        cached_bytes += node_bytes(slots);
    } else {
        mg__free(d);
    }
}

/* Frees every cached node (outside the lock: free may be slow). */
static void empty_cache(void)
{
    mg_node *lists[CACHE_SLOTS + 1];
    mg__graph_lock();
    for (uint32_t slots = 0; slots <= CACHE_SLOTS; slots++) {
        lists[slots] = cache[slots];
        cache[slots] = NULL;
    }
    cached_bytes = 0;
    mg__graph_unlock();
    for (uint32_t slots = 0; slots <= CACHE_SLOTS; slots++) {
        for (mg_node *n = lists[slots], *next; n; n = next) {
            next = n->u.next_dead;
            mg__free(n);
        }
    }
}

/* The one place nodes are born: value set, gradient 0, the caller's reference, and
   room for nchild operands (plus `extra` slots), which the caller fills in before
   mg__adopt. */
static mg_node *alloc_node(mg_op op, double value, uint32_t nchild, uint32_t extra)
{
    if (nchild > MG_MAX_CHILDREN) return NULL;
    mg_node *n = reuse(nchild + extra);
    if (!n) n = mg__malloc(node_bytes(nchild + extra));
    if (!n) return NULL;
    n->value = value;
    n->grad = 0.0;
    n->u.constant = 0.0;
    n->refs = 1;
    n->pending = 0;   /* and so `seen`, the same field */
    n->index = 0;
    n->op = op;
    n->nchild = nchild;
    return n;
}

mg_node *mg__alloc_node(mg_op op, double value, uint32_t nchild)
{
    return alloc_node(op, value, nchild, 0);
}

/* A neuron node: nchild inputs, then its parameter row in the extra slot. */
mg_node *mg__alloc_neuron(mg_op op, double value, uint32_t nchild, mg__row *row)
{
    mg_node *n = alloc_node(op, value, nchild, 1);
    if (n) n->child[nchild] = (mg_node *)(void *)row;
    return n;
}

/* Adds a reference to c. Graph lock held.
   A batch node that nobody holds has refs MG__UNHELD (UINT32_MAX), so that an
   increment wrapping to 0 is the one sign, on this path taken for every edge, that a
   batch node has just been taken hold of: its count becomes 1 and its batch holds one
   more node. An ordinary node's count never wraps (mg_retain refuses the reference
   that would). */
static void ref(mg_node *c)
{
    if (++c->refs == 0) {
        c->refs = 1;
        mg__batch_node_held(c);
    }
}

/* Makes a fully built node live: each operand gains a reference (one per edge, so
   x * x holds x twice), and a neuron's row one. The caller holds the graph lock. */
void mg__adopt(mg_node *n)
{
    for (uint32_t i = 0; i < n->nchild; i++) ref(n->child[i]);
    if (mg__is_neuron(n)) mg__row_of(n)->refs++;
    live_nodes++;
}

/* A batch's nodes (batch.c): counted here, their edges are the batch's business. */
void mg__nodes_born(size_t n) { live_nodes += n; }
void mg__nodes_died(size_t n) { live_nodes -= n; }

/* Drops a reference to the node c, queueing it on `dead` if it was the last. A batch
   node stays until its batch has no node held, and then the batch is freed at once
   (batch.c). */
static mg_node *drop(mg_node *c, mg_node *dead)
{
    if (--c->refs == 0) {
        if (mg__in_batch(c)) {
            c->refs = MG__UNHELD;   /* held by nobody again */
            dead = mg__batch_node_dropped(c, dead);
        } else {
            c->u.next_dead = dead;
            dead = c;
        }
    }
    return dead;
}

/* Drops a reference to a row; when it was the last, its parameters lose theirs (and
   join `dead` if nothing else holds them) and the row is freed. Graph lock held. */
static mg_node *drop_row(mg__row *row, mg_node *dead)
{
    if (--row->refs == 0) {
        for (uint32_t i = 0; i <= row->nin; i++) dead = drop(row->param[i], dead);
        mg__free(row);
    }
    return dead;
}

/* drop_row for batch.c, which frees a batch's rows (static drop_row stays inlinable
   into free_dead). */
mg_node *mg__row_drop(mg__row *row, mg_node *dead) { return drop_row(row, dead); }

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
    int ok = n->refs != (mg__in_batch(n) ? MG__UNHELD - 1 : UINT32_MAX);
    if (ok) ref(n);
    mg__graph_unlock();
    return ok ? n : NULL;
}

/* Frees every node on the `dead` list and, without recursion, every node that only
   they kept alive: dead nodes wait on a list threaded through their own (no longer
   needed) constant field, so a chain of 10 million nodes frees in constant stack.
   Graph lock held. */
static void free_dead(mg_node *dead)
{
    while (dead) {
        mg_node *d = dead;
        dead = d->u.next_dead;
        for (uint32_t i = 0; i < d->nchild; i++) dead = drop(d->child[i], dead);
        if (mg__is_neuron(d)) dead = drop_row(mg__row_of(d), dead);
        recycle(d);
        live_nodes--;
    }
}

void mg_release(mg_node *n)
{
    if (!n) return;
    mg__graph_lock();
    free_dead(drop(n, NULL));
    mg__graph_unlock();
}

void mg_release_array(mg_node *const *nodes)
{
    if (!nodes) return;
    mg__graph_lock();
    mg_node *dead = NULL;
    for (; *nodes; nodes++) dead = drop(*nodes, dead);
    free_dead(dead);
    mg__graph_unlock();
}

void mg__row_release(mg__row *row)
{
    mg__graph_lock();
    free_dead(drop_row(row, NULL));
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
   when no node is alive and the cached work arrays have been given back, and leaves
   an installed allocator only when it has every block back. (Blocks of the C
   library's allocator are not counted, to keep the default path free: an object that
   holds no node, made before installing an allocator, goes unnoticed.) */
int mg_set_allocator(const mg_allocator *a)
{
    if (a && (!a->malloc_fn || !a->realloc_fn || !a->free_fn)) return MG_EINVAL;
    if (mg_live_nodes() != 0) return MG_EINVAL;
    mg_trim();
    if (custom && atomic_load_explicit(&custom_blocks, memory_order_relaxed) != 0) {
        return MG_EINVAL;
    }
    if (a) {
        current = *a;
        custom = 1;
    } else {
        custom = 0;
        current = (mg_allocator){0};
    }
    return MG_OK;
}

void mg_trim(void)
{
    mg__backward_trim();
    empty_cache();
}

int mg_version_number(void) { return MG_VERSION_NUMBER; }

double mg_value(const mg_node *n) { return n->value; }
double mg_grad(const mg_node *n) { return n->grad; }
void mg_set_value(mg_node *n, double value) { n->value = value; }
void mg_set_grad(mg_node *n, double grad) { n->grad = grad; }
mg_op mg_op_of(const mg_node *n) { return (mg_op)n->op; }

double mg_constant(const mg_node *n)
{
    return mg_op_has_constant((mg_op)n->op) ? n->u.constant : 0.0;
}

/* A neuron node shows its weights, inputs and bias as children, in that order, as if
   it held an edge to each parameter (see mg__row). */
size_t mg_child_count(const mg_node *n)
{
    if (mg__in_batch(n)) return mg__batch_child_count(n);
    return mg__is_neuron(n) ? 2 * (size_t)n->nchild + 1 : n->nchild;
}

mg_node *mg_child(const mg_node *n, size_t i)
{
    if (mg__in_batch(n)) return mg__batch_child(n, i);
    if (!mg__is_neuron(n)) return i < n->nchild ? n->child[i] : NULL;
    size_t nin = n->nchild;
    mg__row *row = mg__row_of(n);
    if (i < nin) return row->param[i];
    if (i < 2 * nin) return n->child[i - nin];
    return i == 2 * nin ? row->param[nin] : NULL;
}
