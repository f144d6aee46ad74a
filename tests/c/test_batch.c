/* test_batch.c -- the nodes of mg_mlp_forward_batch (csrc/batch.c): the same scalars,
 * values, children and gradients as one mg_mlp_forward per sample, a lifetime shared by
 * the whole batch, and backward passes that start anywhere inside it. */
#include "mg_nn.h"
#include "mg_test.h"

enum { NIN = 2, HID = 3, NOUT = 2, SAMPLES = 3 };

static const double X[SAMPLES * NIN] = {0.5, -1.0, 2.0, 0.25, -0.75, 1.5};

/* Two layers with fixed weights: tanh then relu. */
static int make_layers(mg_layer **layers)
{
    double w1[HID * (NIN + 1)], w2[NOUT * (HID + 1)];
    for (int i = 0; i < HID * (NIN + 1); i++) w1[i] = 0.3 * (i % 5) - 0.55;
    for (int i = 0; i < NOUT * (HID + 1); i++) w2[i] = 0.4 * (i % 4) - 0.5;
    layers[0] = mg_layer_new(NIN, HID, MG_ACT_TANH, w1);
    layers[1] = mg_layer_new(HID, NOUT, MG_ACT_RELU, w2);
    return layers[0] && layers[1];
}

static void free_layers(mg_layer **layers)
{
    mg_layer_free(layers[0]);
    mg_layer_free(layers[1]);
}

static void zero_grads(mg_layer **layers)
{
    mg_layer_zero_grad(layers[0]);
    mg_layer_zero_grad(layers[1]);
}

/* root = sum_k c_k * out_k with c_k = k + 1 (so every output matters differently). */
static mg_node *weighted(mg_node **out, size_t n)
{
    mg_node *terms[SAMPLES * NOUT];
    for (size_t k = 0; k < n; k++) terms[k] = mg_mul_const(out[k], (double)(k + 1));
    mg_node *root = mg_sum(terms, n);
    for (size_t k = 0; k < n; k++) mg_release(terms[k]);
    return root;
}

void test_batch_equals_per_sample_graphs(void)
{
    mg_layer *layers[2];
    REQUIRE(make_layers(layers));
    mg_node *batch[SAMPLES * NOUT], *single[SAMPLES * NOUT], *leaves[SAMPLES * NIN];
    REQUIRE(mg_mlp_forward_batch(layers, 2, X, SAMPLES, batch) == MG_OK);
    for (int s = 0; s < SAMPLES; s++) {
        for (int i = 0; i < NIN; i++) leaves[s * NIN + i] = mg_leaf(X[s * NIN + i]);
        REQUIRE(mg_mlp_forward(layers, 2, leaves + s * NIN, single + s * NOUT) == MG_OK);
    }
    for (int k = 0; k < SAMPLES * NOUT; k++) CHECK_SAME(mg_value(batch[k]), mg_value(single[k]));

    double grads[2][HID * (NIN + 1) + NOUT * (HID + 1)];
    double input_grads[2][SAMPLES * NIN];
    for (int pass = 0; pass < 2; pass++) {
        zero_grads(layers);
        mg_node **out = pass ? single : batch;
        mg_node *root = weighted(out, SAMPLES * NOUT);
        REQUIRE(root);
        CHECK_EQ_INT(mg_backward(root), MG_OK);
        mg_release(root);
        size_t k = 0;
        for (int l = 0; l < 2; l++)
            for (size_t i = 0; i < mg_layer_param_count(layers[l]); i++)
                grads[pass][k++] = mg_grad(mg_layer_param(layers[l], i));
        for (int s = 0; s < SAMPLES; s++) {
            for (int i = 0; i < NIN; i++) {
                /* the batch's input leaves, reached through the children of its nodes */
                mg_node *hidden = mg_child(batch[s * NOUT], HID);   /* first input */
                mg_node *leaf = pass ? leaves[s * NIN + i] : mg_child(hidden, NIN + i);
                input_grads[pass][s * NIN + i] = mg_grad(leaf);
            }
        }
    }
    for (size_t k = 0; k < sizeof grads[0] / sizeof grads[0][0]; k++)
        CHECK_CLOSE(grads[0][k], grads[1][k], 1e-12);
    for (int k = 0; k < SAMPLES * NIN; k++) CHECK_CLOSE(input_grads[0][k], input_grads[1][k], 1e-12);
    for (int k = 0; k < SAMPLES * NOUT; k++) {
        mg_release(batch[k]);
        mg_release(single[k]);
    }
    for (int k = 0; k < SAMPLES * NIN; k++) mg_release(leaves[k]);
    free_layers(layers);
}

void test_batch_children_show_every_scalar(void)
{
    mg_layer *layers[2];
    REQUIRE(make_layers(layers));
    mg_node *out[SAMPLES * NOUT];
    REQUIRE(mg_mlp_forward_batch(layers, 2, X, SAMPLES, out) == MG_OK);
    for (int s = 0; s < SAMPLES; s++) {
        for (int j = 0; j < NOUT; j++) {
            mg_node *n = out[s * NOUT + j];
            CHECK_EQ_INT(mg_op_of(n), MG_OP_NEURON_RELU);
            CHECK_EQ_INT(mg_child_count(n), 2 * HID + 1);
            for (int i = 0; i < HID; i++)
                CHECK(mg_child(n, i) == mg_layer_param(layers[1], j * (HID + 1) + i));
            CHECK(mg_child(n, 2 * HID) == mg_layer_param(layers[1], j * (HID + 1) + HID));
            CHECK(mg_child(n, 2 * HID + 1) == NULL);
            for (int k = 0; k < HID; k++) {
                mg_node *h = mg_child(n, HID + k);
                /* the same hidden node for every output of the sample */
                CHECK(h == mg_child(out[s * NOUT], HID + k));
                CHECK_EQ_INT(mg_op_of(h), MG_OP_NEURON_TANH);
                CHECK_EQ_INT(mg_child_count(h), 2 * NIN + 1);
                double z = mg_value(mg_child(h, 2 * NIN));
                for (int i = 0; i < NIN; i++) {
                    mg_node *x = mg_child(h, NIN + i);
                    CHECK_EQ_INT(mg_op_of(x), MG_OP_LEAF);
                    CHECK_EQ_INT(mg_child_count(x), 0);
                    CHECK(mg_child(x, 0) == NULL);
                    CHECK_SAME(mg_value(x), X[s * NIN + i]);
                    z += mg_value(mg_child(h, i)) * mg_value(x);
                }
                CHECK_SAME(mg_value(h), tanh(z));
            }
        }
    }
    for (int k = 0; k < SAMPLES * NOUT; k++) mg_release(out[k]);
    free_layers(layers);
}

void test_batch_lives_while_a_node_is_held(void)
{
    mg_layer *layers[2];
    REQUIRE(make_layers(layers));
    size_t params = mg_live_nodes();
    mg_node *out[SAMPLES * NOUT];
    REQUIRE(mg_mlp_forward_batch(layers, 2, X, SAMPLES, out) == MG_OK);
    size_t nodes = SAMPLES * (NIN + HID + NOUT);
    CHECK_EQ_INT(mg_live_nodes(), params + nodes);
    /* an input leaf of the last sample, retained; everything else let go, layers too */
    mg_node *leaf = mg_retain(mg_child(mg_child(out[SAMPLES * NOUT - 1], HID), NIN + 1));
    REQUIRE(leaf);
    for (int k = 0; k < SAMPLES * NOUT; k++) mg_release(out[k]);
    free_layers(layers);
    /* the whole batch stays, and the parameters its rows hold */
    CHECK_EQ_INT(mg_live_nodes(), params + nodes);
    CHECK_SAME(mg_value(leaf), X[SAMPLES * NIN - 1]);
    /* a node built on a batch node holds the batch as well */
    mg_node *twice = mg_mul_const(leaf, 2.0);
    mg_release(leaf);
    CHECK_EQ_INT(mg_live_nodes(), params + nodes + 1);
    CHECK_EQ_INT(mg_backward(twice), MG_OK);
    mg_release(twice);
    CHECK_EQ_INT(mg_live_nodes(), 0);
}

/* Backward from a hidden node of one sample: that sample's inputs and the row's
   parameters get gradients, nothing else in the batch changes. */
void test_batch_backward_from_a_hidden_node(void)
{
    mg_layer *layers[2];
    REQUIRE(make_layers(layers));
    mg_node *out[SAMPLES * NOUT];
    REQUIRE(mg_mlp_forward_batch(layers, 2, X, SAMPLES, out) == MG_OK);
    mg_node *h = mg_child(out[NOUT], HID + 1);   /* sample 1, hidden neuron 1 */
    mg_node *other = mg_child(out[0], HID + 1);   /* sample 0, hidden neuron 1 */
    mg_set_grad(out[NOUT], -0.0);
    mg_set_grad(other, 5.0);
    for (size_t i = 0; i < mg_layer_param_count(layers[1]); i++)
        mg_set_grad(mg_layer_param(layers[1], i), -0.0);
    CHECK_EQ_INT(mg_backward(h), MG_OK);
    CHECK_SAME(mg_grad(h), 1.0);
    double f = 1.0 - mg_value(h) * mg_value(h);
    for (int i = 0; i < NIN; i++) {
        /* d h / d x_i = f * w_i, d h / d w_i = f * x_i (row 1 of layer 0) */
        mg_node *x = mg_child(h, NIN + i);
        CHECK_CLOSE(mg_grad(x), f * mg_value(mg_child(h, i)), 1e-15);
        CHECK_CLOSE(mg_grad(mg_child(h, i)), f * X[NIN + i], 1e-15);
        CHECK_SAME(mg_grad(mg_child(other, NIN + i)), 0.0);
    }
    CHECK_CLOSE(mg_grad(mg_child(h, 2 * NIN)), f, 1e-15);
    CHECK_SAME(mg_grad(mg_layer_param(layers[0], 0)), 0.0);   /* row 0 */
    CHECK_SAME(mg_grad(other), 5.0);
    CHECK(signbit(mg_grad(out[NOUT])));   /* above h: untouched, -0 stays -0 */
    for (size_t i = 0; i < mg_layer_param_count(layers[1]); i++)
        CHECK(signbit(mg_grad(mg_layer_param(layers[1], i))));
    /* from an output: the root's gradient grows by 1, once more adds the same again */
    double before = mg_grad(mg_layer_param(layers[0], 4));
    CHECK_EQ_INT(mg_backward(out[NOUT]), MG_OK);
    double once = mg_grad(mg_layer_param(layers[0], 4)) - before;
    CHECK_EQ_INT(mg_backward(out[NOUT]), MG_OK);
    CHECK_CLOSE(mg_grad(mg_layer_param(layers[0], 4)) - before, 2 * once, 1e-15);
    CHECK_SAME(mg_grad(out[NOUT]), 2.0);
    for (int k = 0; k < SAMPLES * NOUT; k++) mg_release(out[k]);
    free_layers(layers);
}

/* A neuron whose adjoint is 0 still multiplies it by its inputs and weights, so an
   infinite input gives its weight a nan gradient, as the scalar graph does. */
void test_batch_zero_adjoint_times_inf_is_nan(void)
{
    const double w[3] = {1.0, -1.0, 0.0};   /* relu(x0 - x1): 0 at (inf, inf)? nan */
    const double x[4] = {-1.0, 1.0, 1e308, -1e308};   /* z = -2, then z = inf */
    mg_layer *layer = mg_layer_new(2, 1, MG_ACT_RELU, w);
    REQUIRE(layer);
    mg_node *out[2];
    REQUIRE(mg_mlp_forward_batch(&layer, 1, x, 1, out) == MG_OK);
    REQUIRE(mg_mlp_forward_batch(&layer, 1, x + 2, 1, out + 1) == MG_OK);
    CHECK_SAME(mg_value(out[0]), 0.0);
    /* sample 0: relu'(-2) = 0 with finite inputs: zero gradients */
    CHECK_EQ_INT(mg_backward(out[0]), MG_OK);
    CHECK_SAME(mg_grad(mg_layer_param(layer, 0)), 0.0);
    CHECK_SAME(mg_grad(mg_child(out[0], 2)), 0.0);
    /* an infinite input with a zero adjoint: 0 * inf */
    mg_set_value(mg_child(out[0], 2), INFINITY);
    CHECK_EQ_INT(mg_backward(out[0]), MG_OK);
    CHECK(isnan(mg_grad(mg_layer_param(layer, 0))));
    mg_layer_zero_grad(layer);
    CHECK_EQ_INT(mg_backward(out[1]), MG_OK);   /* z = inf: relu' = 1 */
    CHECK_SAME(mg_grad(mg_layer_param(layer, 0)), 1e308);
    mg_release(out[0]);
    mg_release(out[1]);
    mg_layer_free(layer);
}

/* Backward from each output alone visits only that output's sample; the gradients add
   up to those of one backward from the sum of all outputs. A root over nodes of two
   levels and two samples reaches both. */
void test_batch_backward_sample_by_sample_adds_up(void)
{
    mg_layer *layers[2];
    REQUIRE(make_layers(layers));
    mg_node *out[SAMPLES * NOUT];
    REQUIRE(mg_mlp_forward_batch(layers, 2, X, SAMPLES, out) == MG_OK);
    size_t np0 = mg_layer_param_count(layers[0]), np = np0 + mg_layer_param_count(layers[1]);
    double together[HID * (NIN + 1) + NOUT * (HID + 1)];
    mg_node *sum = mg_sum(out, SAMPLES * NOUT);
    REQUIRE(sum);
    CHECK_EQ_INT(mg_backward(sum), MG_OK);
    for (size_t i = 0; i < np; i++)
        together[i] = mg_grad(i < np0 ? mg_layer_param(layers[0], i) : mg_layer_param(layers[1], i - np0));
    zero_grads(layers);
    for (int k = SAMPLES * NOUT - 1; k >= 0; k--) CHECK_EQ_INT(mg_backward(out[k]), MG_OK);
    for (size_t i = 0; i < np; i++) {
        double g = mg_grad(i < np0 ? mg_layer_param(layers[0], i) : mg_layer_param(layers[1], i - np0));
        CHECK_CLOSE(g, together[i], 1e-12);
    }
    /* an output of the last sample and a hidden node of the first */
    zero_grads(layers);
    mg_node *hidden = mg_child(out[0], HID + 2);
    mg_node *pair[2] = {out[SAMPLES * NOUT - 1], hidden};
    mg_node *root = mg_sum(pair, 2);
    REQUIRE(root);
    double before = mg_grad(hidden);
    CHECK_EQ_INT(mg_backward(root), MG_OK);
    CHECK_SAME(mg_grad(hidden), before + 1.0);   /* only the root's edge: out[0] is not */
    double f = 1.0 - mg_value(hidden) * mg_value(hidden);
    /* hidden neuron 2's bias: 1 * f from the hidden node, plus the last output's path */
    mg_node *last = out[SAMPLES * NOUT - 1];
    double w = mg_value(mg_child(last, 2)), h2 = mg_value(mg_child(last, HID + 2));
    double via_last = mg_value(last) > 0.0 ? w * (1.0 - h2 * h2) : 0.0;
    CHECK_CLOSE(mg_grad(mg_layer_param(layers[0], 2 * (NIN + 1) + NIN)), f + via_last, 1e-12);
    mg_release(root);
    mg_release(sum);
    for (int k = 0; k < SAMPLES * NOUT; k++) mg_release(out[k]);
    free_layers(layers);
}
