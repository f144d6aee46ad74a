/*
 * mg.h -- the public interface of the pymicrograd C core.
 *
 * A scalar reverse-mode autograd engine. Every value is an mg_node: an IEEE double
 * with a gradient, the op that made it, and its operands (child nodes: none for a
 * leaf, one or two for the ops below, many for the neural-network ops of mg_nn.h).
 * Build a graph with the op functions, call mg_backward() on its root, read gradients
 * with mg_grad().
 *
 * Ownership. Nodes are reference counted. Every function that returns `mg_node *`
 * hands the caller one new reference, which the caller gives back with mg_release().
 * An op takes its own references to its operands, so a caller may release an operand
 * as soon as the op returns. A node is freed exactly when its last reference goes:
 * a graph lives as long as someone holds its root, and nothing unreachable stays.
 * One exception, for speed: the nodes made by one mg_mlp_forward_batch call (mg_nn.h)
 * live and die together: all of them stay alive while any one is referenced, and are
 * freed together when the last reference to any of them goes.
 * Functions that take `mg_node *` arguments borrow them: they never consume a
 * reference.
 *
 * Failure. Nothing here calls exit() or abort(). A constructor returns NULL when
 * memory runs out or when an operand is NULL (and then leaks nothing and changes
 * nothing); mg_backward() returns an MG_E* code. Numeric domain errors are not
 * failures: they follow IEEE 754 and PyTorch (log(-1) is nan, 1/0 is inf).
 *
 * Threads. Every function except mg_set_allocator may be called from several threads
 * at once, also on graphs that share nodes: reference counts change under a lock and
 * mg_backward() calls run one at a time. What the library does not order for you:
 * writing a node's value or gradient (mg_set_value, mg_set_grad) while another thread
 * reads it or backpropagates through it, and reading a gradient while another thread's
 * mg_backward() may be adding to it, are data races, as in any library. mg_set_allocator
 * must run while no other thread is inside the library (at startup, say).
 * A build for a target without threads (compiled with MG_NO_THREADS, e.g. for
 * wasm32-wasi) has no locks and no fork handlers: call it from one thread only.
 *
 * Fork. A child of fork() (POSIX) may use the library at once, whatever the parent's
 * other threads were doing in it: fork handlers make fork() wait until no thread is
 * inside one of the library's locked sections (an mg_backward() call, the freeing of a
 * graph, a few nanoseconds of reference counting), so that in the child no lock is
 * held and the library's own state is whole: reference counts, the live count, the
 * freed nodes kept for reuse, mg_backward()'s work arrays, and every gradient, which a
 * backward pass running at the fork has either not touched yet or finished adding to.
 * So fork() may wait for one mg_backward() or one graph's release to end. The child has
 * only the thread that called fork(): what the other threads were doing outside the
 * library's locks (building a layer, an optimizer step, mg_set_value) stays as they
 * left it, and the references they held stay held. fork() must not be called from an
 * allocator function (mg_set_allocator) while the library is calling it: it would wait
 * for itself. The handlers are registered by the process's first call that takes a
 * lock; a fork() at the very moment of that registration may still hang the child
 * with a C library other than glibc (see fork.c).
 *
 * Signals. No function here is async-signal-safe: do not call the library from a
 * signal handler (one could interrupt a thread holding a lock and wait for it forever).
 * A handler that only sets a flag, checked between calls, is fine; that is what
 * Python's does.
 *
 * Memory. Every byte comes from one allocator: the C library's malloc, realloc and free,
 * or the one given to mg_set_allocator. mg_backward() keeps its work arrays between
 * calls, and with the C library's allocator up to 16 MB of freed nodes are kept for
 * reuse; mg_trim() gives both back (call it before exit if a leak checker watches).
 *
 * Depth. No function recurses: graphs of any depth (a chain of 10 million nodes)
 * are built, backpropagated and freed in bounded stack space.
 */
#ifndef MG_H
#define MG_H

#include <stddef.h>

/* MG_API marks every function of the library. Building a Windows DLL, the build
   defines MG_BUILDING_DLL and so exports these functions and nothing else; a program
   defines nothing (a function needs no dllimport to be called from a DLL). Elsewhere
   the library is compiled with hidden visibility, and this makes these functions the
   only ones a shared library exports. */
#ifndef MG_API
#if defined(_WIN32) && defined(MG_BUILDING_DLL)
#define MG_API __declspec(dllexport)
#elif !defined(_WIN32) && defined(__GNUC__) && __GNUC__ >= 4
#define MG_API __attribute__((visibility("default")))
#else
#define MG_API
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this header. The library's own is mg_version_number(). */
#define MG_VERSION_MAJOR 0
#define MG_VERSION_MINOR 1
#define MG_VERSION_PATCH 0
#define MG_VERSION "0.1.0"          /* "MAJOR.MINOR.PATCH" */
#define MG_VERSION_NUMBER 100       /* MAJOR * 10000 + MINOR * 100 + PATCH, for #if */

typedef struct mg_node mg_node;

/* The most operands one node can have (n-ary ops check it and fail beyond). */
#define MG_MAX_CHILDREN 16777215

/* Status codes returned by functions that can fail without returning a node. */
#define MG_OK      0   /* success */
#define MG_ENOMEM  1   /* an allocation failed; nothing was changed */
#define MG_EINVAL  2   /* an argument was NULL or out of range; nothing was changed */

/* The op that made a node. The mg_op_* functions below tell each op's facts (name,
   symbol, operands, whether it folds a plain number operand into the node instead of
   allocating a node for it); ask them rather than the position in this list. */
typedef enum mg_op {
    MG_OP_LEAF = 0,    /* made by mg_leaf: no children */
    MG_OP_ADD,         /* a + b */
    MG_OP_SUB,         /* a - b */
    MG_OP_MUL,         /* a * b */
    MG_OP_DIV,         /* a / b */
    MG_OP_POW,         /* a ** b, both nodes */
    MG_OP_NEG,         /* -a */
    MG_OP_TANH,        /* tanh(a) */
    MG_OP_RELU,        /* max(a, 0) */
    MG_OP_EXP,         /* exp(a) */
    MG_OP_LOG,         /* natural log of a */
    MG_OP_SIGMOID,     /* 1 / (1 + exp(-a)) */
    MG_OP_NEURON_LINEAR,   /* b + sum_i w_i x_i; children w_0..w_n-1, x_0..x_n-1, b */
    MG_OP_NEURON_TANH,     /* tanh of that (made by the layers of mg_nn.h) */
    MG_OP_NEURON_RELU,     /* relu of that */
    MG_OP_NEURON_SIGMOID,  /* sigmoid of that */
    MG_OP_SUM,         /* sum of all children (mg_nn.h: mg_sum) */
    MG_OP_SUM_SQUARES, /* sum of the children's squares */
    MG_OP_LOGSUMEXP,   /* log(sum_i exp(x_i)), computed without overflow */
    MG_OP_ADD_CONST,   /* a + c */
    MG_OP_MUL_CONST,   /* a * c */
    MG_OP_DIV_CONST,   /* a / c */
    MG_OP_POW_CONST,   /* a ** c */
    MG_OP_RSUB_CONST,  /* c - a */
    MG_OP_RDIV_CONST,  /* c / a */
    MG_OP_RPOW_CONST,  /* c ** a */
    MG_OP_BCE_LOGITS,  /* binary cross-entropy of logit a against target c */
    MG_OP_CROSS_ENTROPY,   /* -log softmax(children)[c]: one row's softmax cross-entropy,
                              label c (mg_nn.h: mg_cross_entropy) */
    MG_OP_COUNT        /* number of ops; not an op */
} mg_op;

/* ---- making nodes ------------------------------------------------------------------
   Each returns a new node holding one reference for the caller (release it with
   mg_release), or NULL if an operand is NULL or memory runs out. */

MG_API mg_node *mg_leaf(double value);                /* a leaf with gradient 0 */

MG_API mg_node *mg_add(mg_node *a, mg_node *b);       /* a + b */
MG_API mg_node *mg_sub(mg_node *a, mg_node *b);       /* a - b */
MG_API mg_node *mg_mul(mg_node *a, mg_node *b);       /* a * b */
MG_API mg_node *mg_div(mg_node *a, mg_node *b);       /* a / b */
MG_API mg_node *mg_pow(mg_node *a, mg_node *b);       /* a ** b; d/db is a**b * ln(a) */

MG_API mg_node *mg_neg(mg_node *a);                   /* -a */
MG_API mg_node *mg_tanh(mg_node *a);                  /* tanh(a); exact 1.0 for large a */
MG_API mg_node *mg_relu(mg_node *a);                  /* max(a, 0); gradient 0 at a == 0 */
MG_API mg_node *mg_exp(mg_node *a);                   /* e ** a */
MG_API mg_node *mg_log(mg_node *a);                   /* ln(a); nan below 0, -inf at 0 */
MG_API mg_node *mg_sigmoid(mg_node *a);               /* 1 / (1 + exp(-a)), never nan */

MG_API mg_node *mg_add_const(mg_node *a, double c);   /* a + c */
MG_API mg_node *mg_mul_const(mg_node *a, double c);   /* a * c */
MG_API mg_node *mg_div_const(mg_node *a, double c);   /* a / c */
MG_API mg_node *mg_pow_const(mg_node *a, double c);   /* a ** c; gradient 0 when c == 0 */
MG_API mg_node *mg_rsub_const(double c, mg_node *a);  /* c - a */
MG_API mg_node *mg_rdiv_const(double c, mg_node *a);  /* c / a */
MG_API mg_node *mg_rpow_const(double c, mg_node *a);  /* c ** a; d/da is c**a * ln(c) */

/* ---- references -------------------------------------------------------------------- */

/* Adds a reference to n and returns n; the caller owns the new reference. Returns
   NULL if n is NULL or already holds 2^32 - 1 references (2^32 - 2 for a node made
   by mg_mlp_forward_batch). */
MG_API mg_node *mg_retain(mg_node *n);

/* Gives back one reference. When it was the last, frees n and, without recursion,
   every node that only n kept alive. NULL is ignored. */
MG_API void mg_release(mg_node *n);

/* mg_release on each node of `nodes` up to its first NULL, under one lock (one call
   for a whole batch of outputs). The array itself stays the caller's; NULL is ignored. */
MG_API void mg_release_array(mg_node *const *nodes);

/* ---- reading and writing a node (n must not be NULL) ------------------------------- */

MG_API double mg_value(const mg_node *n);             /* the forward value */
MG_API double mg_grad(const mg_node *n);              /* the accumulated gradient */
MG_API void mg_set_value(mg_node *n, double value);   /* changes the value only: nodes built
                                                  on n keep the values they computed */
MG_API void mg_set_grad(mg_node *n, double grad);     /* e.g. 0 to reset before a backward */

MG_API mg_op mg_op_of(const mg_node *n);              /* the op that made n */
MG_API double mg_constant(const mg_node *n);          /* c if mg_op_has_constant(op of n),
                                                  else 0.0 */
MG_API size_t mg_child_count(const mg_node *n);       /* 0 for a leaf, 1 or 2 for the ops
                                                  above, more for n-ary ops */

/* Child i of n (0 <= i < mg_child_count(n)), borrowed: valid while n lives;
   mg_retain it to keep it longer. NULL when i is out of range. */
MG_API mg_node *mg_child(const mg_node *n, size_t i);

/* ---- the ops ----------------------------------------------------------------------
   What the library knows about each op, from its one table of ops: a program (or a
   binding) enumerates them with 0 <= op < mg_op_count() instead of hard-coding the
   enum. An op outside that range is unknown. */

/* The number of ops of the library as it was compiled (MG_OP_COUNT of its mg.h). */
MG_API int mg_op_count(void);

/* A static, never-freed name such as "mul" or "pow_const"; "?" for an unknown op. */
MG_API const char *mg_op_name(mg_op op);

/* A static, never-freed text writing the op in a formula or picture: "+" for add and
   add_const, "-" for sub, rsub_const and neg, "**" for pow; the name for ops without
   a symbol ("tanh"); "" for a leaf; "?" for an unknown op. */
MG_API const char *mg_op_symbol(mg_op op);

/* The number of operand nodes of a node of op: 0 (leaf), 1 or 2, or MG_ARITY_NARY for
   the n-ary ops of mg_nn.h (one or more). 0 for an unknown op. */
#define MG_ARITY_NARY -1
MG_API int mg_op_arity(mg_op op);

/* Whether nodes of op hold a plain number c (mg_constant gives it), and where c stands:
   0 if they hold none (and for an unknown op); MG_CONST_RIGHT for a op c (add_const
   is a + c; bce_logits's c is the target, cross_entropy's the label); MG_CONST_LEFT
   for c op a (rsub_const is c - a). Nonzero means "has a constant". */
#define MG_CONST_RIGHT 1
#define MG_CONST_LEFT 2
MG_API int mg_op_has_constant(mg_op op);

/* ---- backpropagation -------------------------------------------------------------- */

/* Adds d(root)/d(node) to the gradient of every node reachable from root, root itself
   included (its gradient grows by 1). Each call propagates its own derivative only:
   calling it twice adds the derivative twice, whatever the gradients held before.
   Needs 16 bytes of temporary memory per reachable node, plus, per reached batch of
   mg_mlp_forward_batch (mg_nn.h), 8 bytes per node of the batch, 1 per sample and
   level, and for its largest layer 24 per weight and bias, and per sample 8 per
   input and 16 per output (counts padded to whole tiles of 4 x 8).
   Returns MG_OK; MG_EINVAL if root is NULL; MG_ENOMEM if the temporary memory cannot
   be had, in which case no gradient has changed. */
MG_API int mg_backward(mg_node *root);

/* One step of backpropagation by hand, as micrograd's `_backward()`: adds
   mg_grad(n) * d(n)/d(child) to the gradient of each child of n (a leaf has none),
   once. Calling it on every node of a graph in reverse topological order, after
   setting the root's gradient to 1 and the others' to 0, gives what mg_backward
   gives. Returns MG_OK, or MG_EINVAL if n is NULL. */
MG_API int mg_backward_step(mg_node *n);

/* ---- bookkeeping ------------------------------------------------------------------ */

/* The number of nodes allocated and not yet freed, in the whole process. Tests use it
   to prove that a workload leaks nothing. */
MG_API size_t mg_live_nodes(void);

/* MG_VERSION_NUMBER as the library was compiled: differs from the header's when a
   program runs against another build of the shared library than it was compiled with. */
MG_API int mg_version_number(void);

/* ---- memory ------------------------------------------------------------------------ */

/* An allocator: three functions with the contracts of malloc, realloc and free (blocks
   aligned for any type), each given ctx. The library never asks for 0 bytes, never
   resizes or frees NULL, and passes realloc_fn only pointers that came from malloc_fn
   or realloc_fn. A function that cannot allocate returns NULL (and realloc_fn leaves
   the old block untouched). */
typedef struct mg_allocator {
    void *(*malloc_fn)(size_t size, void *ctx);
    void *(*realloc_fn)(void *p, size_t size, void *ctx);
    void (*free_fn)(void *p, void *ctx);
    void *ctx;
} mg_allocator;

/* Makes a copy of *a the allocator of all later allocations; NULL restores the C
   library's malloc, realloc and free. Gives back cached memory first (mg_trim).
   Returns MG_OK; MG_EINVAL, changing nothing else, if a function of *a is NULL, if
   any node is alive, or if an installed allocator still has blocks out (a layer or
   an optimizer): memory must go back to the allocator it came from, so free every
   object of the library first. Not thread-safe: no other call may run meanwhile. */
MG_API int mg_set_allocator(const mg_allocator *a);

/* Gives back the memory the library keeps cached between calls (mg_backward's work
   arrays, freed nodes kept for reuse), so that a leak checker sees nothing at exit;
   later calls simply allocate again. Safe at any time, from any thread. */
MG_API void mg_trim(void);

#ifdef __cplusplus
}
#endif

#endif /* MG_H */
