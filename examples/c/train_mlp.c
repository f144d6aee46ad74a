/* train_mlp.c -- the seed notebook's network, trained from C with the core ops only.
 *
 * MLP(3, [4, 4, 1]): three layers of tanh neurons, weights uniform in (-1, 1) from a
 * fixed-seed generator of our own (so every platform trains the same network), biases
 * 0. Four samples, sum-of-squared-errors loss, plain gradient descent. Each step builds
 * the whole graph, backpropagates, updates the parameters in place and frees the
 * graph; only the parameters (leaves we keep a reference to) live from step to step.
 *
 *   train_mlp [SEED]     exits 0 once the loss is below 0.05, 1 if it never gets there
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <mg.h>

enum { STEPS = 200 };
static const double LEARNING_RATE = 0.05;
static const double TARGET_LOSS = 0.05;

static const double xs[4][3] = {{2.0, 3.0, -1.0}, {3.0, -1.0, 0.5}, {0.5, 1.0, 1.0},
                                {1.0, 1.0, -1.0}};
static const double ys[4] = {1.0, -1.0, -1.0, 1.0};

/* ---- a fixed-seed generator: splitmix64, then 53 bits as a double in [-1, 1) ---- */
static uint64_t rng_state;

static double uniform_pm1(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1.0p-53 * 2.0 - 1.0;
}

/* ---- the network: parameters are leaves we hold one reference to ---------------- */
typedef struct {
    int nin, nout;
    mg_node **w;   /* nout rows of nin weights: row j is neuron j's */
    mg_node **b;   /* nout biases */
} layer;

typedef struct {
    int nlayers;
    layer layers[3];
} mlp;

static int layer_init(layer *l, int nin, int nout)
{
    l->nin = nin;
    l->nout = nout;
    l->w = calloc((size_t)nin * nout, sizeof *l->w);
    l->b = calloc((size_t)nout, sizeof *l->b);
    if (!l->w || !l->b) return 0;
    for (int i = 0; i < nin * nout; i++) {
        if (!(l->w[i] = mg_leaf(uniform_pm1()))) return 0;
    }
    for (int j = 0; j < nout; j++) {
        if (!(l->b[j] = mg_leaf(0.0))) return 0;
    }
    return 1;
}

static void layer_free(layer *l)
{
    if (l->w) for (int i = 0; i < l->nin * l->nout; i++) mg_release(l->w[i]);
    if (l->b) for (int j = 0; j < l->nout; j++) mg_release(l->b[j]);
    free(l->w);
    free(l->b);
}

/* --8<-- [start:layer_forward] */
/* out[j] = tanh(b_j + sum_i w_ji * in[i]), a new reference each (NULL if memory ran
   out: a NULL operand makes every op above it return NULL too). */
static void layer_forward(const layer *l, mg_node *const *in, mg_node **out)
{
    for (int j = 0; j < l->nout; j++) {
        mg_node *acc = mg_retain(l->b[j]);
        for (int i = 0; i < l->nin; i++) {
            mg_node *p = mg_mul(l->w[j * l->nin + i], in[i]);
            mg_node *s = mg_add(acc, p);
            mg_release(p);
            mg_release(acc);
            acc = s;
        }
        out[j] = mg_tanh(acc);
        mg_release(acc);
    }
}
/* --8<-- [end:layer_forward] */

/* The network's output for one sample: a new reference, or NULL. */
static mg_node *mlp_forward(const mlp *net, const double *x)
{
    mg_node *buf[2][4];
    mg_node **in = buf[0], **out = buf[1];
    for (int i = 0; i < 3; i++) in[i] = mg_leaf(x[i]);
    int width = 3;
    for (int k = 0; k < net->nlayers; k++) {
        layer_forward(&net->layers[k], in, out);
        for (int i = 0; i < width; i++) mg_release(in[i]);
        width = net->layers[k].nout;
        mg_node **t = in;
        in = out;
        out = t;
    }
    return in[0];
}

/* Sum over the samples of (prediction - target)^2; preds[k] gets each prediction. */
static mg_node *loss_of(const mlp *net, double *preds)
{
    mg_node *loss = mg_leaf(0.0);
    for (int k = 0; k < 4; k++) {
        mg_node *y = mlp_forward(net, xs[k]);
        preds[k] = y ? mg_value(y) : NAN;
        mg_node *d = mg_add_const(y, -ys[k]);
        mg_node *sq = mg_mul(d, d);
        mg_node *sum = mg_add(loss, sq);
        mg_release(y);
        mg_release(d);
        mg_release(sq);
        mg_release(loss);
        loss = sum;
    }
    return loss;
}

static void for_each_param(mlp *net, void (*fn)(mg_node *))
{
    for (int k = 0; k < net->nlayers; k++) {
        layer *l = &net->layers[k];
        for (int i = 0; i < l->nin * l->nout; i++) fn(l->w[i]);
        for (int j = 0; j < l->nout; j++) fn(l->b[j]);
    }
}

static void sgd_update(mg_node *p)
{
    mg_set_value(p, mg_value(p) - LEARNING_RATE * mg_grad(p));
    mg_set_grad(p, 0.0);   /* gradients add up across backward calls: start over */
}

int main(int argc, char **argv)
{
    unsigned long long seed = argc > 1 ? strtoull(argv[1], NULL, 10) : 42;
    rng_state = seed;
    const int sizes[4] = {3, 4, 4, 1};
    mlp net = {.nlayers = 3};
    int ok = 1;
    for (int k = 0; k < 3; k++) ok &= layer_init(&net.layers[k], sizes[k], sizes[k + 1]);
    if (!ok) {
        fprintf(stderr, "out of memory building the network\n");
        return 2;
    }
    int count = 0;
    for (int k = 0; k < 3; k++) count += (sizes[k] + 1) * sizes[k + 1];
    printf("MLP(3, [4, 4, 1]), %d parameters, seed %llu, learning rate %g\n", count, seed,
           LEARNING_RATE);

    double preds[4], loss_value = INFINITY;
    int step;
    /* --8<-- [start:loop] */
    for (step = 0; step < STEPS; step++) {
        mg_node *loss = loss_of(&net, preds);
        if (!loss || mg_backward(loss) != MG_OK) {
            fprintf(stderr, "out of memory at step %d\n", step);
            mg_release(loss);
            ok = 0;
            break;
        }
        loss_value = mg_value(loss);
        mg_release(loss);   /* frees the step's graph; the parameters stay */
        if (step % 5 == 0 || loss_value < TARGET_LOSS) {
            printf("step %3d  loss %.6f\n", step, loss_value);
        }
        if (loss_value < TARGET_LOSS) break;
        for_each_param(&net, sgd_update);
    }
    /* --8<-- [end:loop] */

    if (ok) {
        printf("predictions vs targets:\n");
        for (int k = 0; k < 4; k++) printf("  %+.4f  %+.0f\n", preds[k], ys[k]);
    }
    for (int k = 0; k < 3; k++) layer_free(&net.layers[k]);
    mg_trim();
    if (mg_live_nodes() != 0) {
        fprintf(stderr, "%zu nodes leaked\n", mg_live_nodes());
        return 1;
    }
    if (!ok) return 2;
    if (!(loss_value < TARGET_LOSS)) {
        printf("did not converge: loss %.6f after %d steps\n", loss_value, STEPS);
        return 1;
    }
    printf("converged in %d steps: loss %.6f < %g\n", step, loss_value, TARGET_LOSS);
    return 0;
}
