/* test_ops.c -- every op's value and gradient: against libm and closed-form
 * derivatives, against central finite differences, and at the kinks and poles where
 * the library follows PyTorch; and the losses at the extremes of float64, against
 * numbers torch gives (float64), which tests/test_loss_extremes.py checks at large. */
#include <math.h>
#include <string.h>

#include "mg_nn.h"
#include "mg_test.h"

typedef mg_node *(*unary_fn)(mg_node *);
typedef mg_node *(*binary_fn)(mg_node *, mg_node *);

/* f(x) and df/dx through the library: one leaf, one op, one backward. */
static void eval_unary(unary_fn f, double x, double *value, double *grad)
{
    mg_node *a = mg_leaf(x);
    mg_node *y = f(a);
    *value = NAN;
    *grad = NAN;
    if (a && y && mg_backward(y) == MG_OK) {
        *value = mg_value(y);
        *grad = mg_grad(a);
    }
    mg_release(y);
    mg_release(a);
}

static void eval_binary(binary_fn f, double x, double y, double *value, double *dx,
                        double *dy)
{
    mg_node *a = mg_leaf(x), *b = mg_leaf(y);
    mg_node *z = f(a, b);
    *value = *dx = *dy = NAN;
    if (z && mg_backward(z) == MG_OK) {
        *value = mg_value(z);
        *dx = mg_grad(a);
        *dy = mg_grad(b);
    }
    mg_release(z);
    mg_release(a);
    mg_release(b);
}

static double value_of_unary(unary_fn f, double x)
{
    mg_node *a = mg_leaf(x), *y = f(a);
    double v = y ? mg_value(y) : NAN;
    mg_release(y);
    mg_release(a);
    return v;
}

/* Central difference, step relative to x: error O(h^2), so 1e-6 agreement is ample. */
static double fd_unary(unary_fn f, double x)
{
    double h = 1e-5 * fmax(1.0, fabs(x));
    return (value_of_unary(f, x + h) - value_of_unary(f, x - h)) / (2.0 * h);
}

static double value_of_binary(binary_fn f, double x, double y)
{
    mg_node *a = mg_leaf(x), *b = mg_leaf(y), *z = f(a, b);
    double v = z ? mg_value(z) : NAN;
    mg_release(z);
    mg_release(a);
    mg_release(b);
    return v;
}

static double sigmoid_ref(double x) { return 1.0 / (1.0 + exp(-x)); }
static double relu_ref(double x) { return x > 0 ? x : 0.0; }
static double neg_ref(double x) { return -x; }

void test_unary_ops_values_and_gradients(void)
{
    struct {
        const char *name;
        unary_fn f;
        double (*ref)(double);
    } ops[] = {
        {"neg", mg_neg, neg_ref},         {"tanh", mg_tanh, tanh},
        {"relu", mg_relu, relu_ref},      {"exp", mg_exp, exp},
        {"log", mg_log, log},             {"sigmoid", mg_sigmoid, sigmoid_ref},
    };
    /* points away from relu's kink and inside log's domain */
    const double xs[] = {0.3, 1.7, 2.5, -0.4, -2.2, 0.05};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        for (size_t k = 0; k < sizeof xs / sizeof xs[0]; k++) {
            double x = xs[k];
            if (ops[i].f == mg_log && x <= 0) continue;
            double v, g;
            eval_unary(ops[i].f, x, &v, &g);
            double expect_v = ops[i].ref(x), expect_g;
            if (ops[i].f == mg_neg) expect_g = -1.0;
            else if (ops[i].f == mg_tanh) expect_g = 1.0 - expect_v * expect_v;
            else if (ops[i].f == mg_relu) expect_g = x > 0 ? 1.0 : 0.0;
            else if (ops[i].f == mg_exp) expect_g = exp(x);
            else if (ops[i].f == mg_log) expect_g = 1.0 / x;
            else expect_g = expect_v * (1.0 - expect_v);
            CHECK_CLOSE(v, expect_v, 1e-15);
            CHECK_CLOSE(g, expect_g, 1e-14);
            CHECK_CLOSE(g, fd_unary(ops[i].f, x), 1e-6);
            if (mg_test_failures) {
                printf("    op %s at x = %g\n", ops[i].name, x);
                return;
            }
        }
    }
}

void test_binary_ops_values_and_gradients(void)
{
    const double pts[][2] = {{2.0, 3.0}, {-1.5, 0.7}, {0.3, -2.0}, {4.0, 0.5}, {1.1, 1.1}};
    for (size_t k = 0; k < sizeof pts / sizeof pts[0]; k++) {
        double x = pts[k][0], y = pts[k][1], v, dx, dy;

        eval_binary(mg_add, x, y, &v, &dx, &dy);
        CHECK_SAME(v, x + y); CHECK_SAME(dx, 1.0); CHECK_SAME(dy, 1.0);

        eval_binary(mg_sub, x, y, &v, &dx, &dy);
        CHECK_SAME(v, x - y); CHECK_SAME(dx, 1.0); CHECK_SAME(dy, -1.0);

        eval_binary(mg_mul, x, y, &v, &dx, &dy);
        CHECK_SAME(v, x * y); CHECK_SAME(dx, y); CHECK_SAME(dy, x);

        eval_binary(mg_div, x, y, &v, &dx, &dy);
        CHECK_SAME(v, x / y);
        CHECK_CLOSE(dx, 1.0 / y, 1e-15);
        CHECK_CLOSE(dy, -x / (y * y), 1e-15);

        if (x > 0) {   /* a ** b with a real logarithm */
            eval_binary(mg_pow, x, y, &v, &dx, &dy);
            CHECK_SAME(v, pow(x, y));
            CHECK_CLOSE(dx, y * pow(x, y - 1.0), 1e-14);
            CHECK_CLOSE(dy, pow(x, y) * log(x), 1e-14);
            double h = 1e-6;
            CHECK_CLOSE(dx, (value_of_binary(mg_pow, x + h, y) -
                             value_of_binary(mg_pow, x - h, y)) / (2 * h), 1e-6);
            CHECK_CLOSE(dy, (value_of_binary(mg_pow, x, y + h) -
                             value_of_binary(mg_pow, x, y - h)) / (2 * h), 1e-6);
        }
        if (mg_test_failures) {
            printf("    at (%g, %g)\n", x, y);
            return;
        }
    }
}

void test_const_ops_values_and_gradients(void)
{
    const double xs[] = {0.5, 2.0, 3.25};
    const double cs[] = {-2.0, 0.5, 3.0};
    for (size_t i = 0; i < 3; i++) {
        for (size_t j = 0; j < 3; j++) {
            double x = xs[i], c = cs[j];
            struct {
                mg_node *(*f)(mg_node *, double);
                mg_node *(*rf)(double, mg_node *);
                double value, grad;
            } cases[] = {
                {mg_add_const, NULL, x + c, 1.0},
                {mg_mul_const, NULL, x * c, c},
                {mg_div_const, NULL, x / c, 1.0 / c},
                {mg_pow_const, NULL, pow(x, c), c * pow(x, c - 1.0)},
                {NULL, mg_rsub_const, c - x, -1.0},
                {NULL, mg_rdiv_const, c / x, -c / (x * x)},
                {NULL, mg_rpow_const, pow(fabs(c), x), pow(fabs(c), x) * log(fabs(c))},
            };
            for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
                mg_node *a = mg_leaf(x);
                mg_node *y;
                if (cases[k].f) {
                    y = cases[k].f(a, c);
                } else if (cases[k].rf == mg_rpow_const) {
                    y = mg_rpow_const(fabs(c), a);   /* a real power of a positive base */
                } else {
                    y = cases[k].rf(c, a);
                }
                REQUIRE(y != NULL);
                CHECK_EQ_INT(mg_backward(y), MG_OK);
                CHECK_CLOSE(mg_value(y), cases[k].value, 1e-15);
                CHECK_CLOSE(mg_grad(a), cases[k].grad, 1e-14);
                CHECK_EQ_INT(mg_child_count(y), 1);
                CHECK(mg_child(y, 0) == a);
                mg_release(y);
                mg_release(a);
                if (mg_test_failures) {
                    printf("    case %zu at x = %g, c = %g\n", k, x, c);
                    return;
                }
            }
        }
    }
}

void test_ops_at_kinks_and_poles(void)
{
    double v, g;
    eval_unary(mg_relu, 0.0, &v, &g);       /* torch: relu'(0) = 0 */
    CHECK_SAME(v, 0.0); CHECK_SAME(g, 0.0);
    eval_unary(mg_relu, NAN, &v, &g);       /* nan stays nan and passes the gradient */
    CHECK(isnan(v)); CHECK_SAME(g, 1.0);
    eval_unary(mg_tanh, 400.0, &v, &g);     /* no exp overflow: exactly 1, slope 0 */
    CHECK_SAME(v, 1.0); CHECK_SAME(g, 0.0);
    eval_unary(mg_tanh, -400.0, &v, &g);
    CHECK_SAME(v, -1.0); CHECK_SAME(g, 0.0);
    eval_unary(mg_sigmoid, -1000.0, &v, &g);
    CHECK_SAME(v, 0.0); CHECK_SAME(g, 0.0);
    eval_unary(mg_sigmoid, 1000.0, &v, &g);
    CHECK_SAME(v, 1.0); CHECK_SAME(g, 0.0);
    eval_unary(mg_log, -1.0, &v, &g);       /* IEEE: nan, not an error */
    CHECK(isnan(v)); CHECK_SAME(g, -1.0);
    eval_unary(mg_log, 0.0, &v, &g);
    CHECK_SAME(v, -INFINITY); CHECK_SAME(g, INFINITY);

    double dx, dy;
    eval_binary(mg_div, 1.0, 0.0, &v, &dx, &dy);
    CHECK_SAME(v, INFINITY);
    eval_binary(mg_pow, 0.0, 0.0, &v, &dx, &dy);   /* 0 ** 0 = 1, gradients 0 */
    CHECK_SAME(v, 1.0); CHECK_SAME(dx, 0.0); CHECK_SAME(dy, 0.0);
    eval_binary(mg_pow, 0.0, 2.0, &v, &dx, &dy);
    CHECK_SAME(v, 0.0); CHECK_SAME(dx, 0.0); CHECK_SAME(dy, 0.0);

    mg_node *a = mg_leaf(0.0);
    mg_node *p = mg_pow_const(a, 0.0);
    mg_node *r = mg_rpow_const(0.0, a);
    REQUIRE(p && r);
    CHECK_EQ_INT(mg_backward(p), MG_OK);
    CHECK_EQ_INT(mg_backward(r), MG_OK);
    CHECK_SAME(mg_value(p), 1.0);
    CHECK_SAME(mg_value(r), 1.0);
    CHECK_SAME(mg_grad(a), 0.0);
    mg_release(p);
    mg_release(r);
    mg_release(a);
}

/* A loss over the leaves made from v[0..n): its value and every leaf's gradient. */
typedef mg_node *(*loss_fn)(mg_node *const *x, size_t n, const void *arg);

static void eval_loss(loss_fn f, const double *v, size_t n, const void *arg, double *value,
                      double *grad)
{
    mg_node *x[4] = {NULL};
    for (size_t i = 0; i < n; i++) x[i] = mg_leaf(v[i]);
    mg_node *loss = f(x, n, arg);
    *value = NAN;
    for (size_t i = 0; i < n; i++) grad[i] = NAN;
    if (loss && mg_backward(loss) == MG_OK) {
        *value = mg_value(loss);
        for (size_t i = 0; i < n; i++) grad[i] = mg_grad(x[i]);
    }
    mg_release(loss);
    for (size_t i = 0; i < n; i++) mg_release(x[i]);
}

static mg_node *ce_row(mg_node *const *x, size_t n, const void *label)
{
    return mg_cross_entropy_loss(x, label, 1, n);
}
static mg_node *bce_one(mg_node *const *x, size_t n, const void *target)
{
    return mg_bce_with_logits_loss(x, target, n);
}
static mg_node *mse_zero(mg_node *const *x, size_t n, const void *arg)
{
    static const double zeros[4] = {0};
    (void)arg;
    return mg_mse_loss(x, zeros, n);
}
static mg_node *l2(mg_node *const *x, size_t n, const void *alpha)
{
    return mg_l2_penalty(x, n, *(const double *)alpha);
}

void test_losses_at_extremes_equal_torch(void)
{
    double v, g[4];
    size_t label0 = 0;
    /* a huge tie: log 2 and [-0.5, 0.5] (logsumexp(row) - row[0] rounded them away) */
    eval_loss(ce_row, (double[]){1e16, 1e16}, 2, &label0, &v, g);
    CHECK_SAME(v, log(2.0)); CHECK_SAME(g[0], -0.5); CHECK_SAME(g[1], 0.5);
    eval_loss(ce_row, (double[]){-1e308, -1e308}, 2, &label0, &v, g);
    CHECK_SAME(v, log(2.0)); CHECK_SAME(g[0], -0.5); CHECK_SAME(g[1], 0.5);
    eval_loss(ce_row, (double[]){-INFINITY, 0.0}, 2, &label0, &v, g);
    CHECK_SAME(v, INFINITY); CHECK_SAME(g[0], -1.0); CHECK_SAME(g[1], 1.0);
    eval_loss(ce_row, (double[]){INFINITY, 0.0}, 2, &label0, &v, g);   /* inf - inf */
    CHECK(isnan(v)); CHECK(isnan(g[0])); CHECK(isnan(g[1]));
    /* binary cross-entropy: (1 - t) x - log_sigmoid(x), gradient 1/(1 + exp(-x)) - t */
    eval_loss(bce_one, (double[]){INFINITY}, 1, (double[]){0.5}, &v, g);
    CHECK_SAME(v, INFINITY); CHECK_SAME(g[0], 0.5);
    eval_loss(bce_one, (double[]){INFINITY}, 1, (double[]){1.0}, &v, g);   /* 0 * inf */
    CHECK(isnan(v)); CHECK_SAME(g[0], 0.0);
    eval_loss(bce_one, (double[]){-740.0}, 1, (double[]){0.0}, &v, g);
    CHECK_SAME(v, 0.0); CHECK_SAME(g[0], 0.0);
    eval_loss(bce_one, (double[]){1e308}, 1, (double[]){0.5}, &v, g);
    CHECK_SAME(v, 5e307); CHECK_SAME(g[0], 0.5);
    /* squared errors: (2/n) e, finite where 2 e is not */
    eval_loss(mse_zero, (double[]){1e308, 0.0, 0.0}, 3, NULL, &v, g);
    CHECK_SAME(v, INFINITY); CHECK_SAME(g[0], (2.0 / 3.0) * 1e308);
    /* L2: 2 (alpha p), finite where 2 p is not; 0 for p = 0 whatever alpha */
    eval_loss(l2, (double[]){1e308}, 1, (double[]){1e-4}, &v, g);
    CHECK_SAME(v, INFINITY); CHECK_SAME(g[0], 2.0 * (1e-4 * 1e308));
    eval_loss(l2, (double[]){0.0}, 1, (double[]){1.7e308}, &v, g);
    CHECK_SAME(v, 0.0); CHECK_SAME(g[0], 0.0);
}

void test_node_introspection(void)
{
    mg_node *a = mg_leaf(2.0), *b = mg_leaf(3.0);
    mg_node *m = mg_mul(a, b), *c = mg_add_const(m, 1.5), *t = mg_tanh(c);
    REQUIRE(a && b && m && c && t);
    CHECK_EQ_INT(mg_op_of(a), MG_OP_LEAF);
    CHECK_EQ_INT(mg_op_of(m), MG_OP_MUL);
    CHECK_EQ_INT(mg_op_of(c), MG_OP_ADD_CONST);
    CHECK_EQ_INT(mg_op_of(t), MG_OP_TANH);
    CHECK_EQ_INT(mg_child_count(a), 0);
    CHECK_EQ_INT(mg_child_count(m), 2);
    CHECK(mg_child(m, 0) == a && mg_child(m, 1) == b);
    CHECK(mg_child(a, 0) == NULL);
    CHECK_SAME(mg_constant(c), 1.5);
    CHECK_SAME(mg_constant(m), 0.0);
    CHECK_SAME(mg_value(t), tanh(7.5));
    mg_set_value(a, 5.0);   /* changes a only: m keeps the value it computed */
    CHECK_SAME(mg_value(a), 5.0);
    CHECK_SAME(mg_value(m), 6.0);
    mg_set_grad(b, 4.0);
    CHECK_SAME(mg_grad(b), 4.0);
    for (int op = 0; op < MG_OP_COUNT; op++) {
        const char *name = mg_op_name((mg_op)op);
        CHECK(name != NULL && name[0] != '?' && name[0] != '\0');
    }
    CHECK(strcmp(mg_op_name(MG_OP_MUL), "mul") == 0);
    CHECK(strcmp(mg_op_name(MG_OP_POW_CONST), "pow_const") == 0);
    mg_release(t);
    mg_release(c);
    mg_release(m);
    mg_release(a);
    mg_release(b);
}

/* The facts of the table of ops, through the mg_op_* functions: each agrees with the
   nodes the op makes, and an unknown op is answered "?" or 0. */
void test_op_table_facts(void)
{
    CHECK_EQ_INT(mg_op_count(), MG_OP_COUNT);
    for (int op = 0; op < mg_op_count(); op++) {
        const char *symbol = mg_op_symbol((mg_op)op);
        CHECK(symbol != NULL && strcmp(symbol, "?") != 0);
        int arity = mg_op_arity((mg_op)op);
        CHECK(arity == 0 || arity == 1 || arity == 2 || arity == MG_ARITY_NARY);
        CHECK_EQ_INT(arity == 0, op == MG_OP_LEAF);
    }
    mg_node *a = mg_leaf(2.0), *b = mg_leaf(3.0);
    mg_node *made[] = {mg_sub(a, b), mg_relu(a), mg_add_const(a, 4.0), mg_rdiv_const(4.0, a)};
    const int constant[] = {0, 0, MG_CONST_RIGHT, MG_CONST_LEFT};
    for (size_t i = 0; i < sizeof made / sizeof made[0]; i++) {
        REQUIRE(made[i]);
        mg_op op = mg_op_of(made[i]);
        CHECK_EQ_INT(mg_op_arity(op), (int)mg_child_count(made[i]));
        CHECK_EQ_INT(mg_op_has_constant(op), constant[i]);
        CHECK_SAME(mg_constant(made[i]), constant[i] ? 4.0 : 0.0);
        mg_release(made[i]);
    }
    mg_node *xs[] = {a, b};
    mg_node *s = mg_sum(xs, 2);
    REQUIRE(s);
    CHECK_EQ_INT(mg_op_arity(mg_op_of(s)), MG_ARITY_NARY);
    mg_release(s);
    CHECK(strcmp(mg_op_symbol(MG_OP_RSUB_CONST), "-") == 0);
    CHECK(strcmp(mg_op_symbol(MG_OP_TANH), "tanh") == 0);
    CHECK(strcmp(mg_op_symbol(MG_OP_LEAF), "") == 0);
    CHECK(strcmp(mg_op_name(MG_OP_COUNT), "?") == 0);
    CHECK(strcmp(mg_op_symbol((mg_op)255), "?") == 0);
    CHECK_EQ_INT(mg_op_arity(MG_OP_COUNT), 0);
    CHECK_EQ_INT(mg_op_has_constant(MG_OP_COUNT), 0);
    mg_release(a);
    mg_release(b);
}
