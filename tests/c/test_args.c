/* test_args.c -- what a caller can pass in wrong: NULL operands, a NULL root, indexes
 * and ops out of range. Each is reported through the return value; none crashes. */
#include <math.h>
#include <string.h>

#include "mg_nn.h"
#include "mg_test.h"

void test_args_null_operands(void)
{
    mg_node *a = mg_leaf(1.0);
    REQUIRE(a);
    mg_node *(*binary[])(mg_node *, mg_node *) = {mg_add, mg_sub, mg_mul, mg_div, mg_pow};
    for (size_t i = 0; i < sizeof binary / sizeof binary[0]; i++) {
        CHECK(binary[i](NULL, a) == NULL);
        CHECK(binary[i](a, NULL) == NULL);
        CHECK(binary[i](NULL, NULL) == NULL);
    }
    mg_node *(*unary[])(mg_node *) = {mg_neg, mg_tanh, mg_relu, mg_exp, mg_log, mg_sigmoid};
    for (size_t i = 0; i < sizeof unary / sizeof unary[0]; i++) CHECK(unary[i](NULL) == NULL);
    mg_node *(*with_const[])(mg_node *, double) = {mg_add_const, mg_mul_const, mg_div_const,
                                                   mg_pow_const};
    for (size_t i = 0; i < sizeof with_const / sizeof with_const[0]; i++)
        CHECK(with_const[i](NULL, 2.0) == NULL);
    mg_node *(*const_first[])(double, mg_node *) = {mg_rsub_const, mg_rdiv_const,
                                                    mg_rpow_const};
    for (size_t i = 0; i < sizeof const_first / sizeof const_first[0]; i++)
        CHECK(const_first[i](2.0, NULL) == NULL);
    /* a failed call changes nothing: a is untouched and nothing was allocated */
    CHECK_EQ_INT(mg_live_nodes(), 1);
    CHECK_SAME(mg_grad(a), 0.0);
    mg_release(a);
}

void test_args_null_root_and_references(void)
{
    CHECK_EQ_INT(mg_backward(NULL), MG_EINVAL);
    CHECK(mg_retain(NULL) == NULL);
    mg_release(NULL);   /* ignored, like free(NULL) */
    CHECK_EQ_INT(mg_live_nodes(), 0);
}

void test_args_out_of_range(void)
{
    mg_node *a = mg_leaf(1.0), *b = mg_leaf(2.0);
    mg_node *s = mg_add(a, b);
    REQUIRE(s);
    CHECK(mg_child(s, 2) == NULL);
    CHECK(mg_child(s, (size_t)-1) == NULL);
    CHECK(mg_child(a, 0) == NULL);
    CHECK(strcmp(mg_op_name(MG_OP_COUNT), "?") == 0);
    CHECK(strcmp(mg_op_name((mg_op)-1), "?") == 0);
    CHECK(strcmp(mg_op_name((mg_op)1000), "?") == 0);
    mg_release(s);
    mg_release(a);
    mg_release(b);
}

void test_args_version(void)
{
    CHECK_EQ_INT(mg_version_number(), MG_VERSION_NUMBER);
    CHECK_EQ_INT(MG_VERSION_NUMBER,
                 MG_VERSION_MAJOR * 10000 + MG_VERSION_MINOR * 100 + MG_VERSION_PATCH);
    char expect[32];
    snprintf(expect, sizeof expect, "%d.%d.%d", MG_VERSION_MAJOR, MG_VERSION_MINOR,
             MG_VERSION_PATCH);
    CHECK(strcmp(expect, MG_VERSION) == 0);
}

void test_args_hinge_labels(void)
{
    mg_node *s[2] = {mg_leaf(0.5), mg_leaf(-2.0)};
    REQUIRE(s[0] && s[1]);
    const double bad[2] = {1.0, 0.5}, good[2] = {1.0, -1.0};
    CHECK(mg_hinge_loss(s, bad, 2) == NULL);   /* labels are -1 or +1 only */
    CHECK_EQ_INT(mg_live_nodes(), 2);
    mg_node *loss = mg_hinge_loss(s, good, 2);
    REQUIRE(loss);
    CHECK_SAME(mg_value(loss), (0.5 + 0.0) / 2);   /* relu(1 - 0.5), relu(1 - 2) */
    mg_release(loss);
    mg_release(s[0]);
    mg_release(s[1]);
}

/* mg_cross_entropy refuses a label out of range, no logits and a NULL logit, leaving
   nothing behind; the node it makes holds the row as children and the label as its
   constant, and gives -log softmax(x)[label] with gradient softmax - one-hot. */
void test_args_cross_entropy_row(void)
{
    mg_node *x[3] = {mg_leaf(1.0), mg_leaf(2.0), mg_leaf(3.0)};
    REQUIRE(x[0] && x[1] && x[2]);
    mg_node *with_null[2] = {x[0], NULL};
    CHECK(mg_cross_entropy(x, 3, 3) == NULL);   /* the label is below k */
    CHECK(mg_cross_entropy(x, 0, 0) == NULL);
    CHECK(mg_cross_entropy(NULL, 3, 0) == NULL);
    CHECK(mg_cross_entropy(with_null, 2, 0) == NULL);
    CHECK_EQ_INT(mg_live_nodes(), 3);
    mg_node *ce = mg_cross_entropy(x, 3, 1);
    REQUIRE(ce);
    CHECK_EQ_INT(mg_op_of(ce), MG_OP_CROSS_ENTROPY);
    CHECK_EQ_INT(mg_child_count(ce), 3);
    CHECK(mg_child(ce, 2) == x[2]);
    CHECK_SAME(mg_constant(ce), 1.0);
    double s = exp(1.0 - 3.0) + exp(2.0 - 3.0) + exp(0.0);
    CHECK_CLOSE(mg_value(ce), log(s) - (2.0 - 3.0), 1e-15);
    CHECK_EQ_INT(mg_backward(ce), MG_OK);
    CHECK_CLOSE(mg_grad(x[0]), exp(1.0 - 3.0) / s, 1e-15);
    CHECK_CLOSE(mg_grad(x[1]), exp(2.0 - 3.0) / s - 1.0, 1e-15);
    CHECK_CLOSE(mg_grad(x[2]), 1.0 / s, 1e-15);
    mg_release(ce);
    for (size_t j = 0; j < 3; j++) mg_release(x[j]);
}
