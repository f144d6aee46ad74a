/* ops.c -- every op as a forward/backward pair.
 *
 * The forward function computes the value and makes the node. The backward function
 * below it receives g = d(root)/d(out) for one node `out` and adds, for each operand x,
 * g * d(out)/d(x) to x->grad (during mg_backward, grad holds this call's adjoint).
 * Where PyTorch defines a value at a kink or pole (relu at 0, x ** 0 at 0), we take
 * the same one. mg__backward_step at the bottom dispatches on the op; the n-ary ops
 * of neural networks (neuron, sum, ...) have their pairs in nn.c.
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
    return unary(MG_OP_TANH, a, tanh(a->value));   /* libm: exact 1.0 for large a */
}
static void tanh_backward(mg_node *out, double g)
{
    A(out)->grad += g * (1.0 - out->value * out->value);
}
/* --8<-- [end:tanh] */

/* ---- relu: out = max(a, 0), d/da = 0 where a <= 0 (torch's choice at 0), else 1 ---- */
mg_node *mg_relu(mg_node *a)
{
    if (!a) return NULL;
    double x = a->value;
    return unary(MG_OP_RELU, a, x > 0.0 ? x : (x == x ? 0.0 : x));   /* nan stays nan */
}
static void relu_backward(mg_node *out, double g)
{
    if (!(out->value <= 0.0)) A(out)->grad += g;   /* nan passes g on, as in torch */
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
    double x = a->value;
    /* exp of a positive number only, so neither branch overflows to inf/inf */
    double s = x >= 0.0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x));
    return unary(MG_OP_SIGMOID, a, s);
}
static void sigmoid_backward(mg_node *out, double g)
{
    A(out)->grad += g * (1.0 - out->value) * out->value;
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

/* ---- dispatch --------------------------------------------------------------------- */

/* --8<-- [start:dispatch] */
void mg__backward_step(mg_node *n, double g)
{
    if (is_add_sub_mul(n->op)) {   /* the most common ops, without the switch's jump */
        add_sub_mul_backward(n, g);
        return;
    }
    switch ((mg_op)n->op) {
    case MG_OP_LEAF: break;
    case MG_OP_ADD:
    case MG_OP_SUB:
    case MG_OP_MUL: break;   /* done above */
    case MG_OP_DIV: div_backward(n, g); break;
    case MG_OP_POW: pow_backward(n, g); break;
    case MG_OP_NEG: neg_backward(n, g); break;
    case MG_OP_TANH: tanh_backward(n, g); break;
    case MG_OP_RELU: relu_backward(n, g); break;
    case MG_OP_EXP: exp_backward(n, g); break;
    case MG_OP_LOG: log_backward(n, g); break;
    case MG_OP_SIGMOID: sigmoid_backward(n, g); break;
    case MG_OP_NEURON_LINEAR:
    case MG_OP_NEURON_TANH:
    case MG_OP_NEURON_RELU:
    case MG_OP_NEURON_SIGMOID: mg__neuron_backward(n, g); break;
    case MG_OP_SUM: mg__sum_backward(n, g); break;
    case MG_OP_SUM_SQUARES: mg__sum_squares_backward(n, g); break;
    case MG_OP_LOGSUMEXP: mg__logsumexp_backward(n, g); break;
    case MG_OP_ADD_CONST: add_const_backward(n, g); break;
    case MG_OP_MUL_CONST: mul_const_backward(n, g); break;
    case MG_OP_DIV_CONST: div_const_backward(n, g); break;
    case MG_OP_POW_CONST: pow_const_backward(n, g); break;
    case MG_OP_RSUB_CONST: rsub_const_backward(n, g); break;
    case MG_OP_RDIV_CONST: rdiv_const_backward(n, g); break;
    case MG_OP_RPOW_CONST: rpow_const_backward(n, g); break;
    case MG_OP_BCE_LOGITS: mg__bce_logits_backward(n, g); break;
    case MG_OP_COUNT: break;
    }
}
/* --8<-- [end:dispatch] */

const char *mg_op_name(mg_op op)
{
    static const char *const names[MG_OP_COUNT] = {
        [MG_OP_LEAF] = "leaf", [MG_OP_ADD] = "add", [MG_OP_SUB] = "sub",
        [MG_OP_MUL] = "mul", [MG_OP_DIV] = "div", [MG_OP_POW] = "pow",
        [MG_OP_NEG] = "neg", [MG_OP_TANH] = "tanh", [MG_OP_RELU] = "relu",
        [MG_OP_EXP] = "exp", [MG_OP_LOG] = "log", [MG_OP_SIGMOID] = "sigmoid",
        [MG_OP_NEURON_LINEAR] = "neuron_linear", [MG_OP_NEURON_TANH] = "neuron_tanh",
        [MG_OP_NEURON_RELU] = "neuron_relu", [MG_OP_NEURON_SIGMOID] = "neuron_sigmoid",
        [MG_OP_SUM] = "sum", [MG_OP_SUM_SQUARES] = "sum_squares",
        [MG_OP_LOGSUMEXP] = "logsumexp",
        [MG_OP_ADD_CONST] = "add_const", [MG_OP_MUL_CONST] = "mul_const",
        [MG_OP_DIV_CONST] = "div_const", [MG_OP_POW_CONST] = "pow_const",
        [MG_OP_RSUB_CONST] = "rsub_const", [MG_OP_RDIV_CONST] = "rdiv_const",
        [MG_OP_RPOW_CONST] = "rpow_const", [MG_OP_BCE_LOGITS] = "bce_logits",
    };
    return ((unsigned)op < MG_OP_COUNT) ? names[op] : "?";
}
