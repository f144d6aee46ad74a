/* mg_internal.h -- the node layout and helpers shared by the core's .c files.
   Not installed; embedders use mg.h only. */
#ifndef MG_INTERNAL_H
#define MG_INTERNAL_H

#include <stdint.h>

#include "mg.h"

/* --8<-- [start:node] */
/* One scalar in the graph: a 40-byte header and its children inline, so that a
   binary op's node (56 bytes) fits malloc's 64-byte size class. */
struct mg_node {
    double value;                 /* forward result */
    double grad;                  /* accumulated d(root)/d(this) over backward calls */
    union {
        double constant;          /* the plain number of a *_CONST op */
        mg_node *next_dead;       /* mg_release: links nodes waiting to be freed */
    } u;
    uint32_t refs;                /* references: holders plus parents' edges (graph lock) */
    uint32_t pending;             /* mg_backward scratch: parent edges not yet done */
    uint32_t index;               /* mg_backward scratch: position in its node list */
    uint32_t op : 8;              /* an mg_op */
    uint32_t nchild : 24;         /* number of operands, at most MG_MAX_CHILDREN */
    mg_node *child[];             /* operands, each holding a reference; a neuron
                                     node keeps its parameter row after them */
};
/* --8<-- [end:node] */

/* A layer neuron's parameters: w[0..nin-1] then b, leaves that the row holds once.
   The layer and every neuron node built from the row share it (refs under the graph
   lock), so a neuron node holds one reference for all its weights instead of an edge
   per weight: weights are half of a layer's edges, and every edge costs a count when
   built, in backward and when freed. */
typedef struct mg__row {
    uint32_t refs;
    uint32_t seen;                /* mg_backward scratch: params already discovered */
    uint32_t nin;
    mg_node *param[];             /* nin + 1 */
} mg__row;

static inline int mg__is_neuron(const mg_node *n)
{
    return n->op >= MG_OP_NEURON_LINEAR && n->op <= MG_OP_NEURON_SIGMOID;
}

/* The row of a neuron node, stored in the slot after its children. */
static inline mg__row *mg__row_of(const mg_node *n)
{
    return (mg__row *)(void *)n->child[n->nchild];
}

/* node.c: allocation and lifetime */
mg_node *mg__alloc_node(mg_op op, double value, uint32_t nchild);   /* not live yet */
mg_node *mg__alloc_neuron(mg_op op, double value, uint32_t nchild, mg__row *row);
void mg__graph_lock(void);      /* guards every node's refs and the live count */
void mg__graph_unlock(void);
void mg__adopt(mg_node *n);     /* graph lock held: n's operands gain their edges */
void mg__row_release(mg__row *row);   /* drops one reference (takes the graph lock) */
mg_node *mg__new_node(mg_op op, double value, mg_node *a, mg_node *b, double constant);
void *mg__malloc(size_t size);
void *mg__realloc(void *p, size_t size);
void mg__free(void *p);

/* backward.c: frees the work arrays mg_backward keeps between calls (takes its lock) */
void mg__backward_trim(void);

/* ops.c: the local derivative of each op, applied to one node's adjoint g */
void mg__backward_step(mg_node *n, double g);

/* nn.c: the backward halves of the neural-network ops, called by mg__backward_step */
void mg__neuron_backward(mg_node *out, double g);
void mg__sum_backward(mg_node *out, double g);
void mg__sum_squares_backward(mg_node *out, double g);
void mg__logsumexp_backward(mg_node *out, double g);
void mg__bce_logits_backward(mg_node *out, double g);

#endif /* MG_INTERNAL_H */
