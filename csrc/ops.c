/* ops.c -- every op as a forward/backward pair.
 *
 * The forward function computes the value and makes the node. The backward function
 * below it receives g = d(root)/d(out) for one node `out` and adds, for each operand x,
 * g * d(out)/d(x) to x->grad (during mg_backward, grad holds this call's adjoint).
 * Where PyTorch defines a value at a kink or pole (relu at 0, x ** 0 at 0), we take
 * the same one. The n-ary ops of neural networks (neuron, sum, ...) have their pairs
 * in nn.c, the cross-entropies in loss.c.
 *
 * At the bottom, the table of ops: one row per op with every fact about it (name,
 * symbol, forward, operands, constant, backward). mg_op_name and the other mg_op_* functions,
 * mg_constant and mg__backward_step all read it; so do Python (through those
 * functions) and the catalogue test, which fails when an op lacks a test.
 */
#include <math.h>

#include "mg_internal.h"

#define A(n) ((n)->child[0])
#define B(n) ((n)->child[1])

static mg_node *unary(mg_op op, mg_node *a, double value)
{
    return mg__new_node(op, value, a, NULL, 0.0);
}

/* --8<-- [start:add_sub_mul] */
/* ---- add, sub, mul: out = a + b, a - b, a * b --------------------------------------- */
mg_node *mg_add(mg_node *a, mg_node *b)
{
    if (!a || !b) return NULL;
    return mg__new_node(MG_OP_ADD, a->value + b->value, a, b, 0.0);
}
mg_node *mg_sub(mg_node *a, mg_node *b)
{
    if (!a || !b) return NULL;
    return mg__new_node(MG_OP_SUB, a->value - b->value, a, b, 0.0);
}
mg_node *mg_mul(mg_node *a, mg_node *b)
{
    if (!a || !b) return NULL;
    return mg__new_node(MG_OP_MUL, a->value * b->value, a, b, 0.0);
}
/* The three share one backward, which picks d(out)/da and d(out)/db from a table by
   op rather than branching: graphs mix the three at random, and a jump to a different
   function per op is mispredicted on about every other node (measured: a third of
   the time of backward on a random graph). g * 1.0 is exactly g, and adding
   g * -1.0 exactly subtracts g. */
_Static_assert(MG_OP_SUB == MG_OP_ADD + 1 && MG_OP_MUL == MG_OP_ADD + 2,
               "add_sub_mul_backward indexes its table by op - MG_OP_ADD");
static int is_add_sub_mul(unsigned op) { return op - MG_OP_ADD <= MG_OP_MUL - MG_OP_ADD; }
static void add_sub_mul_backward(mg_node *out, double g)
{
    double a = A(out)->value, b = B(out)->value;
    /*                    add   sub  mul */
    const double da[3] = {1.0,  1.0, b};
    const double db[3] = {1.0, -1.0, a};
    unsigned k = out->op - MG_OP_ADD;
    A(out)->grad += g * da[k];
    B(out)->grad += g * db[k];
}
/* --8<-- [end:add_sub_mul] */

/* ---- div: out = a / b ------------------------------------------------------------- */
mg_node *mg_div(mg_node *a, mg_node *b)
{
    if (!a || !b) return NULL;
    return mg__new_node(MG_OP_DIV, a->value / b->value, a, b, 0.0);
}
static void div_backward(mg_node *out, double g)
{
    double b = B(out)->value;
    A(out)->grad += g / b;
    B(out)->grad += -g * (out->value / b);   /* -a/b^2, written as torch does */
}

/* ---- pow: out = a ** b, both nodes ------------------------------------------------ */
mg_node *mg_pow(mg_node *a, mg_node *b)
{
    if (!a || !b) return NULL;
    return mg__new_node(MG_OP_POW, pow(a->value, b->value), a, b, 0.0);
}
static void pow_backward(mg_node *out, double g)
{
    double a = A(out)->value, b = B(out)->value;
    /* d/da = b * a**(b-1), defined as 0 when b == 0 (so 0**0 has gradient 0) */
    A(out)->grad += b == 0.0 ? 0.0 : g * (b * pow(a, b - 1.0));
    /* d/db = a**b * ln(a), defined as 0 at a == 0 for b >= 0, where ln(a) is -inf */
    B(out)->grad += (a == 0.0 && b >= 0.0) ? 0.0 : g * (out->value * log(a));
}

/* ---- neg: out = -a ---------------------------------------------------------------- */
mg_node *mg_neg(mg_node *a)
{
    if (!a) return NULL;
    return unary(MG_OP_NEG, a, -a->value);
}
static void neg_backward(mg_node *out, double g) { A(out)->grad -= g; }

/* --8<-- [start:tanh] */
/* ---- tanh: out = tanh(a), d/da = 1 - out^2 ------------------------------------------ */
mg_node *mg_tanh(mg_node *a)
{
    if (!a) return NULL;
    return unary(MG_OP_TANH, a, mg__tanh(a->value));   /* activation.h, as a neuron's */
}
static void tanh_backward(mg_node *out, double g)
{
    A(out)->grad += mg__tanh_dz(out->value, g);   /* g * (1 - out^2) */
}
/* --8<-- [end:tanh] */

/* ---- relu: out = max(a, 0), d/da = 0 where a <= 0 (torch's choice at 0), else 1 ---- */
mg_node *mg_relu(mg_node *a)
{
    if (!a) return NULL;
    return unary(MG_OP_RELU, a, mg__relu(a->value));   /* nan stays nan */
}
/* Adds nothing (rather than 0.0) where relu is flat: a gradient of -0.0 stays -0.0. */
static void relu_backward(mg_node *out, double g)
{
    if (mg__relu_passes(out->value)) A(out)->grad += g;   /* nan passes g on, as torch */
}

/* ---- exp: out = e**a, d/da = out ---------------------------------------------------- */
mg_node *mg_exp(mg_node *a)
{
    if (!a) return NULL;
    return unary(MG_OP_EXP, a, exp(a->value));
}
static void exp_backward(mg_node *out, double g) { A(out)->grad += g * out->value; }

/* ---- log: out = ln(a), d/da = 1/a --------------------------------------------------- */
mg_node *mg_log(mg_node *a)
{
    if (!a) return NULL;
    return unary(MG_OP_LOG, a, log(a->value));
}
static void log_backward(mg_node *out, double g) { A(out)->grad += g / A(out)->value; }

/* ---- sigmoid: out = 1/(1+e**-a), d/da = out * (1 - out) ----------------------------- */
mg_node *mg_sigmoid(mg_node *a)
{
    if (!a) return NULL;
    return unary(MG_OP_SIGMOID, a, mg__sigmoid(a->value));   /* never overflows */
}
static void sigmoid_backward(mg_node *out, double g)
{
    A(out)->grad += mg__sigmoid_dz(out->value, g);   /* g * (1 - out) * out */
}

/* ---- the constant ops: one operand is a plain number c, stored in the node -------- */

/* add_const: out = a + c, d/da = 1 */
mg_node *mg_add_const(mg_node *a, double c)
{
    if (!a) return NULL;
    return mg__new_node(MG_OP_ADD_CONST, a->value + c, a, NULL, c);
}
static void add_const_backward(mg_node *out, double g) { A(out)->grad += g; }

/* --8<-- [start:mul_const] */
/* mul_const: out = a * c, d/da = c */
mg_node *mg_mul_const(mg_node *a, double c)
{
    if (!a) return NULL;
    return mg__new_node(MG_OP_MUL_CONST, a->value * c, a, NULL, c);
}
static void mul_const_backward(mg_node *out, double g) { A(out)->grad += g * out->u.constant; }
/* --8<-- [end:mul_const] */

/* div_const: out = a / c, d/da = 1/c */
mg_node *mg_div_const(mg_node *a, double c)
{
    if (!a) return NULL;
    return mg__new_node(MG_OP_DIV_CONST, a->value / c, a, NULL, c);
}
static void div_const_backward(mg_node *out, double g) { A(out)->grad += g / out->u.constant; }

/* pow_const: out = a ** c, d/da = c * a**(c-1), and 0 when c == 0 */
mg_node *mg_pow_const(mg_node *a, double c)
{
    if (!a) return NULL;
    return mg__new_node(MG_OP_POW_CONST, pow(a->value, c), a, NULL, c);
}
static void pow_const_backward(mg_node *out, double g)
{
    double c = out->u.constant;
    if (c != 0.0) A(out)->grad += g * (c * pow(A(out)->value, c - 1.0));
}

/* rsub_const: out = c - a, d/da = -1 */
mg_node *mg_rsub_const(double c, mg_node *a)
{
    if (!a) return NULL;
    return mg__new_node(MG_OP_RSUB_CONST, c - a->value, a, NULL, c);
}
static void rsub_const_backward(mg_node *out, double g) { A(out)->grad -= g; }

/* rdiv_const: out = c / a, d/da = -c/a^2 = -out/a */
mg_node *mg_rdiv_const(double c, mg_node *a)
{
    if (!a) return NULL;
    return mg__new_node(MG_OP_RDIV_CONST, c / a->value, a, NULL, c);
}
static void rdiv_const_backward(mg_node *out, double g)
{
    A(out)->grad += -g * (out->value / A(out)->value);
}

/* rpow_const: out = c ** a, d/da = out * ln(c), and 0 at c == 0 for a >= 0 */
mg_node *mg_rpow_const(double c, mg_node *a)
{
    if (!a) return NULL;
    return mg__new_node(MG_OP_RPOW_CONST, pow(c, a->value), a, NULL, c);
}
static void rpow_const_backward(mg_node *out, double g)
{
    double c = out->u.constant;
    if (!(c == 0.0 && A(out)->value >= 0.0)) A(out)->grad += g * (out->value * log(c));
}

/* ---- the table of ops ------------------------------------------------------------ */

/* A leaf has no operand to pass its gradient to. */
static void leaf_backward(mg_node *out, double g)
{
    (void)out;
    (void)g;
}

/* One row per op, every fact about it in one place:
 *   X(op, name, symbol, forward, arity, constant, backward)
 * op: the mg_op without MG_OP_; name, symbol, arity, constant: what mg_op_name,
 * mg_op_symbol, mg_op_arity and mg_op_has_constant return; forward: the public function
 * that makes the node (mg.h, mg_nn.h); backward: the function that adds g * d(out)/d(x)
 * to each operand x's grad (here, or in nn.c and loss.c, declared in mg_internal.h).
 * Below, the rows become the table of facts and the cases of the backward switch, so
 * the compiler refuses an op without a row (-Wswitch) or with two (a duplicate case). */
#define NARY MG_ARITY_NARY
#define RIGHT MG_CONST_RIGHT
#define LEFT MG_CONST_LEFT
/* --8<-- [start:table] */
#define MG_OPS(X)                                                                          \
    X(LEAF,           "leaf",           "",        mg_leaf,            0,    0,     leaf_backward)            \
    X(ADD,            "add",            "+",       mg_add,             2,    0,     add_sub_mul_backward)     \
    X(SUB,            "sub",            "-",       mg_sub,             2,    0,     add_sub_mul_backward)     \
    X(MUL,            "mul",            "*",       mg_mul,             2,    0,     add_sub_mul_backward)     \
    X(DIV,            "div",            "/",       mg_div,             2,    0,     div_backward)             \
    X(POW,            "pow",            "**",      mg_pow,             2,    0,     pow_backward)             \
    X(NEG,            "neg",            "-",       mg_neg,             1,    0,     neg_backward)             \
    X(TANH,           "tanh",           "tanh",    mg_tanh,            1,    0,     tanh_backward)            \
    X(RELU,           "relu",           "relu",    mg_relu,            1,    0,     relu_backward)            \
    X(EXP,            "exp",            "exp",     mg_exp,             1,    0,     exp_backward)             \
    X(LOG,            "log",            "log",     mg_log,             1,    0,     log_backward)             \
    X(SIGMOID,        "sigmoid",        "sigmoid", mg_sigmoid,         1,    0,     sigmoid_backward)         \
    X(NEURON_LINEAR,  "neuron_linear",  "neuron_linear",  mg_layer_forward, NARY, 0, mg__neuron_backward)   \
    X(NEURON_TANH,    "neuron_tanh",    "neuron_tanh",    mg_layer_forward, NARY, 0, mg__neuron_backward)   \
    X(NEURON_RELU,    "neuron_relu",    "neuron_relu",    mg_layer_forward, NARY, 0, mg__neuron_backward)   \
    X(NEURON_SIGMOID, "neuron_sigmoid", "neuron_sigmoid", mg_layer_forward, NARY, 0, mg__neuron_backward)   \
    X(SUM,            "sum",            "sum",     mg_sum,             NARY, 0,     mg__sum_backward)         \
    X(SUM_SQUARES,    "sum_squares",    "sum_squares", mg_sum_squares, NARY, 0,     mg__sum_squares_backward) \
    X(LOGSUMEXP,      "logsumexp",      "logsumexp", mg_logsumexp,     NARY, 0,     mg__logsumexp_backward)   \
    X(ADD_CONST,      "add_const",      "+",       mg_add_const,       1,    RIGHT, add_const_backward)       \
    X(MUL_CONST,      "mul_const",      "*",       mg_mul_const,       1,    RIGHT, mul_const_backward)       \
    X(DIV_CONST,      "div_const",      "/",       mg_div_const,       1,    RIGHT, div_const_backward)       \
    X(POW_CONST,      "pow_const",      "**",      mg_pow_const,       1,    RIGHT, pow_const_backward)       \
    X(RSUB_CONST,     "rsub_const",     "-",       mg_rsub_const,      1,    LEFT,  rsub_const_backward)      \
    X(RDIV_CONST,     "rdiv_const",     "/",       mg_rdiv_const,      1,    LEFT,  rdiv_const_backward)      \
    X(RPOW_CONST,     "rpow_const",     "**",      mg_rpow_const,      1,    LEFT,  rpow_const_backward)      \
    X(BCE_LOGITS,     "bce_logits",     "bce_logits", mg_bce_with_logits, 1, RIGHT, mg__bce_logits_backward)  \
    X(CROSS_ENTROPY,  "cross_entropy",  "cross_entropy", mg_cross_entropy, NARY, RIGHT, mg__cross_entropy_backward)
/* --8<-- [end:table] */

/* The compiler checks that each row's forward function is declared. */
#define FORWARD_DECLARED(op, name, symbol, forward, arity, constant, backward) \
    _Static_assert(sizeof(&forward) > 0, #forward " makes " name);
MG_OPS(FORWARD_DECLARED)

typedef struct {
    const char *name, *symbol;
    int arity, constant;
} op_facts;

#define FACTS_ROW(op, name, symbol, forward, arity, constant, backward) \
    [MG_OP_##op] = {name, symbol, arity, constant},
static const op_facts facts[] = {MG_OPS(FACTS_ROW)};
_Static_assert(sizeof facts / sizeof facts[0] == MG_OP_COUNT, "one row per mg_op");

/* The row of a known op, else NULL. (A row missing from the middle of MG_OPS would be
   all zeros: -Wswitch warns of it, and this makes it an unknown op.) */
static const op_facts *facts_of(mg_op op)
{
    return (unsigned)op < MG_OP_COUNT && facts[op].name ? &facts[op] : NULL;
}

int mg_op_count(void) { return MG_OP_COUNT; }

const char *mg_op_name(mg_op op) { return facts_of(op) ? facts_of(op)->name : "?"; }
const char *mg_op_symbol(mg_op op) { return facts_of(op) ? facts_of(op)->symbol : "?"; }
int mg_op_arity(mg_op op) { return facts_of(op) ? facts_of(op)->arity : 0; }
int mg_op_has_constant(mg_op op) { return facts_of(op) ? facts_of(op)->constant : 0; }

/* Dispatch by a switch over the same rows, not through a table of function pointers.
   Measured side by side (4,000-node graphs, in cache, 6 runs on a shared 2-core
   machine): a bare pointer call took 3 to 12% longer per node than the switch on
   graphs mixing 12 ops; a pointer call after the add/sub/mul shortcut below was within
   the noise of the switch (+-10%). The switch adds nothing to learn, and with it the
   compiler checks that every op has exactly one row (-Wswitch, duplicate cases).
   add, sub and mul, the most common ops, skip the switch's jump (add_sub_mul_backward). */
#define BACKWARD_CASE(op, name, symbol, forward, arity, constant, backward) \
    case MG_OP_##op: backward(n, g); break;

/* --8<-- [start:dispatch] */
void mg__backward_step(mg_node *n, double g)
{
    if (is_add_sub_mul(n->op)) {
        add_sub_mul_backward(n, g);
        return;
    }
    switch ((mg_op)n->op) {
    MG_OPS(BACKWARD_CASE)
    case MG_OP_COUNT: break;
    }
}
/* --8<-- [end:dispatch] */
