/* test_backward.c -- what one mg_backward() call adds, and to which nodes. */
#include "mg_test.h"

/* y = tanh(a * b + a): a is used twice, b once. */
static mg_node *small_graph(mg_node *a, mg_node *b)
{
    mg_node *m = mg_mul(a, b);
    mg_node *s = mg_add(m, a);
    mg_node *y = mg_tanh(s);
    mg_release(m);
    mg_release(s);
    return y;
}

void test_backward_twice_adds_twice(void)
{
    mg_node *a = mg_leaf(0.3), *b = mg_leaf(-0.8);
    mg_node *y = small_graph(a, b);
    REQUIRE(y);
    CHECK_EQ_INT(mg_backward(y), MG_OK);
    double ga = mg_grad(a), gb = mg_grad(b);
    double t = mg_value(y);
    CHECK_CLOSE(ga, (1 - t * t) * (-0.8 + 1.0), 1e-15);
    CHECK_CLOSE(gb, (1 - t * t) * 0.3, 1e-15);
    CHECK_SAME(mg_grad(y), 1.0);
    CHECK_EQ_INT(mg_backward(y), MG_OK);
    CHECK_SAME(mg_grad(a), 2 * ga);
    CHECK_SAME(mg_grad(b), 2 * gb);
    CHECK_SAME(mg_grad(y), 2.0);
    mg_release(y);
    mg_release(a);
    mg_release(b);
}

/* micrograd's second backward() re-propagates intermediate gradients left by the first;
   here each call propagates its own adjoint, whatever the nodes held before. */
void test_backward_never_repropagates_old_gradients(void)
{
    mg_node *x = mg_leaf(3.0);
    mg_node *m = mg_mul_const(x, 2.0);
    mg_node *y = mg_mul(m, m);   /* y = 4 x^2, dy/dx = 8x = 24 */
    REQUIRE(y);
    CHECK_EQ_INT(mg_backward(y), MG_OK);
    CHECK_SAME(mg_grad(x), 24.0);
    CHECK_SAME(mg_grad(m), 12.0);
    mg_set_grad(m, 1e9);        /* garbage in an intermediate node */
    CHECK_EQ_INT(mg_backward(y), MG_OK);
    CHECK_SAME(mg_grad(x), 48.0);
    CHECK_SAME(mg_grad(m), 1e9 + 12.0);
    mg_release(y);
    mg_release(m);
    mg_release(x);
}

void test_backward_reuse_sums_every_path(void)
{
    mg_node *x = mg_leaf(5.0);
    mg_node *sq = mg_mul(x, x);     /* d/dx = 2x */
    mg_node *twice = mg_add(x, x);  /* d/dx = 2 */
    mg_node *y = mg_add(sq, twice);
    REQUIRE(y);
    CHECK_EQ_INT(mg_backward(y), MG_OK);
    CHECK_SAME(mg_grad(x), 12.0);
    CHECK_SAME(mg_grad(sq), 1.0);
    CHECK_SAME(mg_grad(twice), 1.0);
    mg_release(y);
    mg_release(sq);
    mg_release(twice);
    mg_release(x);
}

/* d_{k+1} = d_k + d_k, fifty times: 2^50 paths from the top to the leaf. A pass that
   walked paths instead of nodes would never finish. */
void test_backward_diamonds_double_each_level(void)
{
    mg_node *x = mg_leaf(1.0);
    mg_node *d = mg_retain(x);
    for (int i = 0; i < 50; i++) {
        mg_node *next = mg_add(d, d);
        mg_release(d);
        d = next;
        REQUIRE(d);
    }
    CHECK_EQ_INT(mg_live_nodes(), 51);
    CHECK_EQ_INT(mg_backward(d), MG_OK);
    CHECK_SAME(mg_value(d), 1125899906842624.0);
    CHECK_SAME(mg_grad(x), 1125899906842624.0);
    mg_release(d);
    mg_release(x);
}

void test_backward_from_leaf_and_from_inner_node(void)
{
    mg_node *a = mg_leaf(2.0);
    CHECK_EQ_INT(mg_backward(a), MG_OK);
    CHECK_SAME(mg_grad(a), 1.0);
    mg_set_grad(a, 0.0);

    mg_node *b = mg_leaf(3.0);
    mg_node *inner = mg_mul(a, b);
    mg_node *top = mg_exp(inner);
    REQUIRE(top);
    CHECK_EQ_INT(mg_backward(inner), MG_OK);   /* top is not below inner: untouched */
    CHECK_SAME(mg_grad(a), 3.0);
    CHECK_SAME(mg_grad(b), 2.0);
    CHECK_SAME(mg_grad(top), 0.0);
    mg_release(top);
    mg_release(inner);
    mg_release(a);
    mg_release(b);
}

void test_backward_leaves_unreachable_nodes_alone(void)
{
    mg_node *a = mg_leaf(1.0), *b = mg_leaf(2.0), *c = mg_leaf(3.0);
    mg_node *ab = mg_mul(a, b);
    mg_node *bc = mg_mul(b, c);    /* shares b, but is not below ab */
    REQUIRE(ab && bc);
    mg_set_grad(c, 7.0);
    mg_set_grad(bc, -7.0);
    CHECK_EQ_INT(mg_backward(ab), MG_OK);
    CHECK_SAME(mg_grad(a), 2.0);
    CHECK_SAME(mg_grad(b), 1.0);
    CHECK_SAME(mg_grad(c), 7.0);
    CHECK_SAME(mg_grad(bc), -7.0);
    mg_release(ab);
    mg_release(bc);
    mg_release(a);
    mg_release(b);
    mg_release(c);
}

void test_backward_shared_subgraph_two_roots(void)
{
    mg_node *w = mg_leaf(0.5), *x1 = mg_leaf(2.0), *x2 = mg_leaf(-4.0);
    mg_node *h = mg_tanh(w);
    mg_node *y1 = mg_mul(h, x1), *y2 = mg_mul(h, x2);
    REQUIRE(y1 && y2);
    double dh = 1.0 - mg_value(h) * mg_value(h);
    CHECK_EQ_INT(mg_backward(y1), MG_OK);
    CHECK_EQ_INT(mg_backward(y2), MG_OK);
    CHECK_CLOSE(mg_grad(w), dh * (2.0 - 4.0), 1e-15);
    CHECK_SAME(mg_grad(h), -2.0);
    CHECK_SAME(mg_grad(x1), mg_value(h));
    CHECK_SAME(mg_grad(x2), mg_value(h));
    mg_release(y1);
    mg_release(y2);
    mg_release(h);
    mg_release(w);
    mg_release(x1);
    mg_release(x2);
}
