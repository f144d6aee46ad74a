/* test_lifetime.c -- reference counting: nothing the caller holds is freed, nothing
 * unreachable stays. */
#include "mg_test.h"

void test_lifetime_operands_live_while_used(void)
{
    mg_node *a = mg_leaf(2.0), *b = mg_leaf(3.0);
    mg_node *c = mg_mul(a, b);
    REQUIRE(c);
    mg_release(a);   /* c still holds both operands */
    mg_release(b);
    CHECK_EQ_INT(mg_live_nodes(), 3);
    CHECK_SAME(mg_value(mg_child(c, 0)), 2.0);
    CHECK_EQ_INT(mg_backward(c), MG_OK);
    CHECK_SAME(mg_grad(mg_child(c, 0)), 3.0);
    mg_release(c);   /* the last reference to the whole graph */
    CHECK_EQ_INT(mg_live_nodes(), 0);
}

void test_lifetime_retain_and_release_balance(void)
{
    mg_node *a = mg_leaf(1.0);
    REQUIRE(a);
    for (int i = 0; i < 100; i++) CHECK(mg_retain(a) == a);
    for (int i = 0; i < 100; i++) mg_release(a);
    CHECK_EQ_INT(mg_live_nodes(), 1);
    CHECK_SAME(mg_value(a), 1.0);
    mg_release(a);
    CHECK_EQ_INT(mg_live_nodes(), 0);
}

void test_lifetime_borrowed_child_and_retained_child(void)
{
    mg_node *a = mg_leaf(4.0);
    mg_node *t = mg_tanh(a);
    REQUIRE(t);
    mg_release(a);
    mg_node *kept = mg_retain(mg_child(t, 0));
    CHECK(kept != NULL);
    mg_release(t);   /* frees t; a lives on through `kept` */
    CHECK_EQ_INT(mg_live_nodes(), 1);
    CHECK_SAME(mg_value(kept), 4.0);
    mg_release(kept);
}

void test_lifetime_shared_leaves_survive_graph(void)
{
    mg_node *w[8];
    for (int i = 0; i < 8; i++) w[i] = mg_leaf(i);
    for (int round = 0; round < 10; round++) {
        mg_node *acc = mg_leaf(0.0);
        for (int i = 0; i < 8; i++) {
            mg_node *p = mg_mul(w[i], w[(i + 1) % 8]);
            mg_node *s = mg_add(acc, p);
            mg_release(p);
            mg_release(acc);
            acc = s;
        }
        REQUIRE(acc);
        CHECK_EQ_INT(mg_live_nodes(), 8 + 1 + 16);
        mg_release(acc);
        CHECK_EQ_INT(mg_live_nodes(), 8);
    }
    for (int i = 0; i < 8; i++) mg_release(w[i]);
}

/* A training loop's pattern: build, backward, free, a thousand times; the live count
   must come back to the parameters every time. */
void test_lifetime_many_graphs_reuse_memory(void)
{
    mg_node *p = mg_leaf(0.1);
    for (int step = 0; step < 1000; step++) {
        mg_node *x = mg_leaf(step * 0.001);
        mg_node *y = mg_mul(p, x);
        mg_node *l = mg_pow_const(y, 2.0);
        REQUIRE(l);
        CHECK_EQ_INT(mg_backward(l), MG_OK);
        mg_release(x);
        mg_release(y);
        mg_release(l);
        if (mg_live_nodes() != 1) {
            CHECK_EQ_INT(mg_live_nodes(), 1);
            break;
        }
    }
    mg_release(p);
}

/* mg_release_array gives back one reference per node up to the first NULL, and frees
   what only they held: a graph (and its shared leaf) across the array. */
void test_lifetime_release_array_stops_at_null(void)
{
    mg_node *a = mg_leaf(2.0);
    REQUIRE(a);
    mg_node *nodes[5] = {mg_mul_const(a, 2.0), mg_retain(a), mg_tanh(a), NULL, a};
    REQUIRE(nodes[0] && nodes[1] && nodes[2]);
    CHECK_EQ_INT(mg_live_nodes(), 3);
    mg_release_array(nodes);   /* not nodes[4]: it comes after the NULL */
    CHECK_EQ_INT(mg_live_nodes(), 1);
    CHECK_SAME(mg_value(a), 2.0);
    mg_release_array(NULL);
    mg_release(a);
    CHECK_EQ_INT(mg_live_nodes(), 0);
}
