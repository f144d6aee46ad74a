/* mg_internal.h -- the node layout and helpers shared by the core's .c files.
   Not installed; embedders use mg.h only. */
#ifndef MG_INTERNAL_H
#define MG_INTERNAL_H

#include <math.h>
#include <stdint.h>

#include "activation.h"
#include "mg.h"
#include "mg_nn.h"

/* The nodes of one mg_mlp_forward_batch call, in one block: private to batch.c, which
   the rest of the core reaches through the mg__batch_* hooks below. */
typedef struct mg__batch mg__batch;

/* --8<-- [start:node] */
/* One scalar in the graph: a 40-byte header and its children inline, so that a
   binary op's node (56 bytes) fits malloc's 64-byte size class. */
struct mg_node {
    double value;                 /* forward result */
    double grad;                  /* accumulated d(root)/d(this) over backward calls */
    union {
        double constant;          /* the plain number of a *_CONST op */
        mg_node *next_dead;       /* mg_release: links nodes waiting to be freed */
        mg__batch *batch;         /* a batch node: the batch it belongs to */
    } u;
    uint32_t refs;                /* references: holders plus parents' edges (graph lock);
                                     a batch node counts those from outside its batch,
                                     and has MG__UNHELD when it has none (node.c) */
    union {                       /* mg_backward scratch, by the node's kind: */
        uint32_t pending;         /* with stored edges: parent edges not yet done */
        uint32_t seen;            /* without (a leaf, a batch node): 1 once discovered */
    };
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

/* A neuron node with stored edges and a row (it has at least one input; a batch
   node, whose edges are implicit, has none: see batch.c). */
static inline int mg__is_neuron(const mg_node *n)
{
    return n->op >= MG_OP_NEURON_LINEAR && n->op <= MG_OP_NEURON_SIGMOID && n->nchild;
}

/* A node of an mg__batch (batch.c): it stores no edges and points to its batch, where
   a leaf's constant is 0.0 (all bits zero). */
static inline int mg__in_batch(const mg_node *n)
{
    return n->nchild == 0 && n->u.batch != NULL;
}

/* The row of a neuron node, stored in the slot after its children. */
static inline mg__row *mg__row_of(const mg_node *n)
{
    return (mg__row *)(void *)n->child[n->nchild];
}

/* A dense layer (mg_nn.h): one row per neuron, each holding a reference. */
struct mg_layer {
    size_t nin, nout;
    mg_activation act;
    mg__row **rows;
};

/* A neuron's activation (activation.h). */
static inline double mg__activate(mg_activation act, double z)
{
    switch (act) {
    case MG_ACT_TANH: return mg__tanh(z);
    case MG_ACT_RELU: return mg__relu(z);
    case MG_ACT_SIGMOID: return mg__sigmoid(z);
    case MG_ACT_LINEAR: break;
    }
    return z;
}

/* g * act'(z) for a neuron node of op `op`, written with its output y = act(z). */
static inline double mg__neuron_dz(mg_op op, double y, double g)
{
    switch (op) {
    case MG_OP_NEURON_TANH: return mg__tanh_dz(y, g);
    case MG_OP_NEURON_RELU: return mg__relu_dz(y, g);
    case MG_OP_NEURON_SIGMOID: return mg__sigmoid_dz(y, g);
    default: return g;
    }
}

/* nn.c */
int mg__valid_mlp(mg_layer *const *layers, size_t nlayers);   /* 1 if they chain */

/* node.c: allocation and lifetime */
mg_node *mg__alloc_node(mg_op op, double value, uint32_t nchild);   /* not live yet */
mg_node *mg__alloc_neuron(mg_op op, double value, uint32_t nchild, mg__row *row);
void mg__graph_lock(void);      /* guards every node's refs and the live count */
void mg__graph_unlock(void);
void mg__adopt(mg_node *n);     /* graph lock held: n's operands gain their edges */
void mg__row_release(mg__row *row);   /* drops one reference (takes the graph lock) */
/* Graph lock held: drops one reference to row; the nodes that die of it (its
   parameters, when it was the last) join the list `dead`, which free_dead in node.c
   then frees. Returns the list. */
mg_node *mg__row_drop(mg__row *row, mg_node *dead);
/* Graph lock held: n nodes that store no edges (a batch's) became live, or died. */
void mg__nodes_born(size_t n);
void mg__nodes_died(size_t n);
mg_node *mg__new_node(mg_op op, double value, mg_node *a, mg_node *b, double constant);
void *mg__malloc(size_t size);
void *mg__realloc(void *p, size_t size);
void mg__free(void *p);

/* A batch node that nobody holds: refs is MG__UNHELD, so that the increment of ref()
   in node.c that wraps it to 0 is the sign that it has just been taken hold of. */
#define MG__UNHELD UINT32_MAX

/* batch.c: a batch's lifetime, for node.c (graph lock held). A batch counts its nodes
   that are held (refs from outside it: node.c counts them in refs, from 1 up, or
   MG__UNHELD) and lives while any of them is:
   - node_held: n, a batch node, has just gained its first reference;
   - node_dropped: n has just lost its last one. When it was the batch's last held
     node, the batch is freed, and what only its rows kept alive joins `dead` (as
     mg__row_drop). Returns the list. */
void mg__batch_node_held(const mg_node *n);
mg_node *mg__batch_node_dropped(const mg_node *n, mg_node *dead);

/* batch.c: a batch node's children, computed from its place in the batch */
size_t mg__batch_child_count(const mg_node *n);
mg_node *mg__batch_child(const mg_node *n, size_t i);
void mg__batch_node_backward(const mg_node *n, double g);   /* mg_backward_step */

/* batch.c: the hooks of mg_backward (backward.c, backward lock held), over `reached`,
   the list of batches it has reached from outside (linked by next_reached; only
   batch.c reads or writes a batch's scratch fields):
   - enter: c, a node of its batch, was reached from outside; the batch joins *reached.
   - scratch_size: the doubles and flag bytes the next calls need, as one array each.
   - reach_all (end of discovery, before any gradient changes): find the nodes the
     reached ones lead to, and record the parameters of their rows with see_row(ctx,
     row); MG_OK, or MG_ENOMEM as see_row returned it (then unreach_all: no gradient
     has changed).
   - backward_all (after the generic pass): backpropagate through the batches.
   - finish_all: add the batches' adjoints to the gradients and reset their scratch. */
typedef int (*mg__row_fn)(void *ctx, mg__row *row);
void mg__batch_enter(mg__batch **reached, mg_node *c);
void mg__batch_scratch_size(const mg__batch *reached, size_t *doubles, size_t *flags);
int mg__batch_reach_all(mg__batch *reached, double *doubles, unsigned char *flags,
                        mg__row_fn see_row, void *ctx);
void mg__batch_backward_all(mg__batch *reached, double *doubles);
void mg__batch_finish_all(mg__batch *reached);
void mg__batch_unreach_all(mg__batch *reached);

/* backward.c: frees the work arrays mg_backward keeps between calls (takes its lock) */
void mg__backward_trim(void);

/* backward.c, for the fork handlers (fork.c): the lock mg_backward runs in */
void mg__backward_lock(void);
void mg__backward_unlock(void);

/* ops.c: the local derivative of each op, applied to one node's adjoint g */
void mg__backward_step(mg_node *n, double g);

/* The backward halves of the ops made outside ops.c, rows of ops.c's table of ops. */
void mg__neuron_backward(mg_node *out, double g);       /* nn.c */
void mg__sum_backward(mg_node *out, double g);          /* nn.c */
void mg__sum_squares_backward(mg_node *out, double g);  /* nn.c */
void mg__logsumexp_backward(mg_node *out, double g);    /* nn.c */
void mg__bce_logits_backward(mg_node *out, double g);   /* loss.c */
void mg__cross_entropy_backward(mg_node *out, double g);   /* loss.c */

#endif /* MG_INTERNAL_H */
