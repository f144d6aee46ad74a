/*
 * mg_nn.h -- neural networks on the pymicrograd C core: n-ary nodes, dense layers,
 * losses and optimizers. Everything here builds ordinary mg_node graphs (see mg.h for
 * ownership, failure and thread rules, which all apply): a layer's forward pass makes
 * one scalar node per neuron, act(b + sum_i w_i x_i), whose children (mg_child) are its
 * weights, its inputs and its bias, in that order, so a picture of the graph still
 * shows every scalar and every edge.
 *
 * Conventions of this file. Arrays passed in are borrowed and only read during the
 * call. Functions returning `mg_node *` hand the caller one new reference, or NULL
 * when an argument is invalid (NULL, a zero count where one operand is needed, more
 * than MG_MAX_CHILDREN operands) or memory runs out; a NULL return leaks nothing.
 * Functions returning int return MG_OK, MG_EINVAL or MG_ENOMEM; on failure they leave
 * no node behind, and each entry of their output array is NULL or untouched (never a
 * pointer to a freed node). Layer and optimizer arguments may not be NULL unless a
 * function says so.
 */
#ifndef MG_NN_H
#define MG_NN_H

#include <stddef.h>

#include "mg.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mg_activation {
    MG_ACT_LINEAR = 0,   /* identity */
    MG_ACT_TANH,
    MG_ACT_RELU,         /* gradient 0 at 0, as in PyTorch */
    MG_ACT_SIGMOID
} mg_activation;

/* ---- n-ary nodes ------------------------------------------------------------------ */

MG_API mg_node *mg_sum(mg_node *const *x, size_t n);          /* x[0] + ... + x[n-1]; n >= 1 */
MG_API mg_node *mg_sum_squares(mg_node *const *x, size_t n);  /* x[0]^2 + ...; n >= 1 */
MG_API mg_node *mg_logsumexp(mg_node *const *x, size_t n);    /* log(sum exp(x[i])); n >= 1;
                                                          gradient softmax(x) */

/* Binary cross-entropy of the logit x against a target t in [0, 1], computed as torch
   does, (1 - t)*x - log_sigmoid(x) with log_sigmoid(x) = min(x, 0) - log1p(exp(-|x|)),
   with gradient 1/(1 + exp(-x)) - t: the same numbers as torch's, inf and nan too. */
MG_API mg_node *mg_bce_with_logits(mg_node *x, double t);

/* Softmax cross-entropy of one row of k logits x[0..k) against the class label < k
   (else NULL, as for k of 0 or more than MG_MAX_CHILDREN): -log softmax(x)[label],
   computed as torch does, with m = max(x), log(sum_j exp(x[j] - m)) - (x[label] - m),
   with gradient softmax(x)[j] - (j == label): the same numbers as torch's, inf and nan
   too. One node, whose children are x and whose mg_constant is the label. */
MG_API mg_node *mg_cross_entropy(mg_node *const *x, size_t k, size_t label);

/* ---- losses ------------------------------------------------------------------------
   Each returns one node (the loss), built from the nodes above. pred/score/logit
   arrays hold n nodes; targets are plain numbers. Each loss's value and gradients are
   torch's in float64 (torch.nn.functional's; for the L2 penalty, alpha * (p * p).sum()'s),
   computed in torch's order of operations, so that they agree to the last bit or two
   (sums over many samples may add in another order), at +-1e308, inf and nan too.
   NULL, before anything is allocated or any array read, when n is 0 or more than
   MG_MAX_CHILDREN. */

MG_API mg_node *mg_sse_loss(mg_node *const *pred, const double *target, size_t n);  /* sum (p-t)^2 */
MG_API mg_node *mg_mse_loss(mg_node *const *pred, const double *target, size_t n);  /* mean (p-t)^2 */

/* mean over i of relu(1 - label[i] * score[i]), labels -1 or +1 (else NULL: invalid;
   an SVM's max-margin loss, micrograd's demo). */
MG_API mg_node *mg_hinge_loss(mg_node *const *score, const double *label, size_t n);

/* mean over i of mg_bce_with_logits(logit[i], target[i]). */
MG_API mg_node *mg_bce_with_logits_loss(mg_node *const *logit, const double *target, size_t n);

/* Softmax cross-entropy: logits holds n rows of k class scores (row-major); label[i] is
   the class of row i, below k (else NULL: invalid; so is k of 0 or more than
   MG_MAX_CHILDREN). Returns the mean over rows of mg_cross_entropy(row, k, label), one
   node per row. */
MG_API mg_node *mg_cross_entropy_loss(mg_node *const *logits, const size_t *label, size_t n,
                               size_t k);

/* alpha * sum_i p[i]^2: an L2 penalty over parameters, with gradient 2 (alpha p[i]),
   as torch's for alpha * (p * p).sum() (finite where 2 p[i] alone would overflow). */
mg_node *mg_l2_penalty(mg_node *const *p, size_t n, double alpha);

/* ---- dense layers ------------------------------------------------------------------ */

typedef struct mg_layer mg_layer;

/* A layer of nout neurons over nin inputs, owned by the caller (free with
   mg_layer_free). Its parameters are leaves in micrograd's order, neuron by neuron:
   w[0..nin-1] then b. `init` holds nout * (nin + 1) starting values in that order, or
   is NULL for all zeros. NULL on nin or nout of 0, a bad activation, or no memory; and,
   before allocating anything, when nin exceeds MG_MAX_CHILDREN (a neuron node's inputs)
   or the layer would have more than 4,294,967,295 (2^32 - 1) parameters, which no
   mg_backward() could reach all of (it numbers the nodes it reaches with 32 bits). */
MG_API mg_layer *mg_layer_new(size_t nin, size_t nout, mg_activation act, const double *init);

/* The same layer over parameters that exist already: params holds nout * (nin + 1)
   leaves in micrograd's order, borrowed; the layer takes a reference to each (so a
   copied model can share its parameters with a copied optimizer). Caller owns the
   result (free with mg_layer_free). NULL on what mg_layer_new refuses, a NULL array
   or entry, a node that is not a leaf, or no memory. */
MG_API mg_layer *mg_layer_from_params(size_t nin, size_t nout, mg_activation act,
                               mg_node *const *params);

/* Frees the layer and drops its references to its parameters; nodes built by its
   forward passes keep the parameters they use alive. NULL is ignored. */
MG_API void mg_layer_free(mg_layer *layer);

MG_API size_t mg_layer_nin(const mg_layer *layer);
MG_API size_t mg_layer_nout(const mg_layer *layer);
MG_API mg_activation mg_layer_activation(const mg_layer *layer);
MG_API size_t mg_layer_param_count(const mg_layer *layer);    /* nout * (nin + 1) */

/* Parameter i in micrograd's order, borrowed (valid while the layer lives; mg_retain
   it to keep it longer); NULL when i is out of range. */
MG_API mg_node *mg_layer_param(const mg_layer *layer, size_t i);

/* One forward pass: out[j] = neuron j applied to in[0..nin-1], for j < nout; each
   out[j] is a new reference for the caller. */
MG_API int mg_layer_forward(const mg_layer *layer, mg_node *const *in, mg_node **out);

/* Neuron j alone: *out = neuron j applied to in[0..nin-1], a new reference. */
MG_API int mg_layer_forward_neuron(const mg_layer *layer, size_t j, mg_node *const *in,
                            mg_node **out);

/* A whole multi-layer perceptron in one call: layers[0] takes in[0..nin-1], each next
   layer the previous one's outputs (whose nin must equal its nout, else MG_EINVAL).
   out receives the last layer's nout outputs, new references. */
MG_API int mg_mlp_forward(mg_layer *const *layers, size_t nlayers, mg_node *const *in,
                   mg_node **out);

/* The same over a batch of plain inputs: x holds batch rows of nin numbers
   (row-major); each number becomes a leaf; out receives batch rows of the last
   layer's nout outputs (row-major), new references. The graph is the one that batch
   calls of mg_mlp_forward over leaves would make, node for node (values, ops,
   children, gradients), but its nodes are made in one block and live and die
   together: all of them stay alive while any one is referenced (by the caller, or by
   a node built on it), and are freed together when the last reference goes. A
   batch of 0 rows makes nothing and returns MG_OK. */
MG_API int mg_mlp_forward_batch(mg_layer *const *layers, size_t nlayers, const double *x,
                         size_t batch, mg_node **out);

/* Sets the gradient of every parameter of the layer to 0. */
MG_API void mg_layer_zero_grad(mg_layer *layer);

/* ---- optimizers -------------------------------------------------------------------- */

typedef struct mg_optimizer mg_optimizer;

/* Stochastic gradient descent over params[0..n-1] (the optimizer keeps its own
   references; the caller's array is only read): with weight decay wd, d = grad + wd * p;
   with momentum m, buf = m * buf + d (buf = d on the first step), p -= lr * buf; else
   p -= lr * d. As torch.optim.SGD (dampening 0, no Nesterov). Caller owns the result
   (free with mg_optimizer_free); NULL on a NULL array or no memory. */
MG_API mg_optimizer *mg_sgd_new(mg_node *const *params, size_t n, double momentum, double wd);

/* Adam over params[0..n-1], as torch.optim.Adam; with decoupled != 0, AdamW (weight
   decay multiplies p by 1 - lr * wd before the step instead of adding wd * p to the
   gradient). Ownership and failure as mg_sgd_new. */
MG_API mg_optimizer *mg_adam_new(mg_node *const *params, size_t n, double beta1, double beta2,
                          double eps, double wd, int decoupled);

/* One update of every parameter from its current gradient, with learning rate lr (it
   may change from step to step). */
MG_API void mg_optimizer_step(mg_optimizer *opt, double lr);

/* Sets every parameter's gradient to 0. */
MG_API void mg_optimizer_zero_grad(mg_optimizer *opt);

/* The number of parameters the optimizer updates. */
MG_API size_t mg_optimizer_param_count(const mg_optimizer *opt);

/* The optimizer's state, so that a copy can continue where it stopped: the steps taken,
   and per parameter, SGD's momentum buffer (m; v is not used and may be NULL) or Adam's
   first and second moments (m and v). m and v hold mg_optimizer_param_count(opt)
   doubles, owned by the caller. Returns MG_OK; MG_EINVAL, changing nothing, if an
   array the optimizer needs is NULL or steps is negative. */
MG_API int mg_optimizer_get_state(const mg_optimizer *opt, double *m, double *v, long *steps);
MG_API int mg_optimizer_set_state(mg_optimizer *opt, const double *m, const double *v, long steps);

/* Frees the optimizer and its state and drops its references. NULL is ignored. */
MG_API void mg_optimizer_free(mg_optimizer *opt);

#ifdef __cplusplus
}
#endif

#endif /* MG_NN_H */
