/*
 * moons_ref.c -- micrograd's moons training step written by hand in C: no graph, no
 * allocation in the loop, nothing but the arithmetic. benchmarks/moons_bench.py uses it
 * as the floor that a graph-building engine is measured against.
 *
 * The step, for an MLP with ReLU hidden layers and a linear output neuron:
 *   forward   z = b + w[0]*a[0] + w[1]*a[1] + ...   (micrograd's Neuron sums from b)
 *             a = relu(z) on hidden layers, the score s = z on the last one
 *   loss      L = (1/N) * sum_n relu(1 - y[n]*s[n]) + alpha * sum_p p^2
 *   backward  dL/ds[n] = -y[n]/N where the hinge is active (relu'(0) = 0), then the
 *             chain rule back through the layers, plus 2*alpha*p for the penalty
 *   update    p -= lr * dL/dp,  lr = 1 - 0.9*k/100 at step k
 *
 * Parameters are in micrograd's MLP.parameters() order: layer by layer, neuron by
 * neuron, the neuron's weights then its bias. Activations are kept for the whole batch
 * (N rows per layer), so backward walks layers, not samples.
 *
 * Input on stdin, whitespace separated (doubles printed with repr / %.17g):
 *   N  nlayers  width[0] .. width[nlayers]  steps  repeats  alpha
 *   X (N * width[0] numbers, row-major)  y (N labels, -1 or +1)  params
 * Output on stdout, one JSON object:
 *   {"step_ns": [steps*repeats times], "loss": [steps], "acc": [steps]}
 * Each repeat starts over from the given parameters; loss and acc are the first
 * repeat's (every repeat computes the same numbers). acc[k] is the accuracy of the
 * scores computed in step k, before its update.
 *
 * Build: gcc -O2 -std=c11 -o moons_ref moons_ref.c
 */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_LAYERS 16

static void fail(const char *why) {
    fprintf(stderr, "moons_ref: %s\n", why);
    exit(1);
}

static void *xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size);
    if (!p) fail("out of memory");
    return p;
}

static double read_double(void) {
    double v;
    if (scanf("%lf", &v) != 1) fail("input ended early or holds a non-number");
    return v;
}

static int read_int(void) {
    int v;
    if (scanf("%d", &v) != 1 || v < 0) fail("bad integer in the header");
    return v;
}

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(void) {
    /* ---- read the problem ---- */
    const int n = read_int(), nl = read_int();
    if (n < 1 || nl < 1 || nl > MAX_LAYERS) fail("need N >= 1 and 1..16 layers");
    int width[MAX_LAYERS + 1];
    for (int l = 0; l <= nl; l++) {
        width[l] = read_int();
        if (width[l] < 1) fail("layer width must be >= 1");
    }
    if (width[nl] != 1) fail("the last layer must have one output (the score)");
    const int steps = read_int(), repeats = read_int();
    const double alpha = read_double();

    /* offset[l] = index of layer l's first parameter; a neuron is width[l]+1 numbers */
    size_t offset[MAX_LAYERS + 1];
    offset[0] = 0;
    for (int l = 0; l < nl; l++)
        offset[l + 1] = offset[l] + (size_t)width[l + 1] * (size_t)(width[l] + 1);
    const size_t np = offset[nl];

    double *x = xcalloc((size_t)n * width[0], sizeof *x);
    double *y = xcalloc((size_t)n, sizeof *y);
    double *p0 = xcalloc(np, sizeof *p0);
    for (size_t i = 0; i < (size_t)n * width[0]; i++) x[i] = read_double();
    for (int i = 0; i < n; i++) y[i] = read_double();
    for (size_t i = 0; i < np; i++) p0[i] = read_double();

    double *p = xcalloc(np, sizeof *p), *g = xcalloc(np, sizeof *g);
    /* act[l]: N rows of width[l] values (act[0] is the input); grad[l] likewise */
    double *act[MAX_LAYERS + 1], *grad[MAX_LAYERS + 1];
    act[0] = x;
    grad[0] = NULL; /* nobody needs d/dx */
    for (int l = 1; l <= nl; l++) {
        act[l] = xcalloc((size_t)n * width[l], sizeof(double));
        grad[l] = xcalloc((size_t)n * width[l], sizeof(double));
    }
    long long *step_ns = xcalloc((size_t)steps * repeats, sizeof *step_ns);
    double *loss_hist = xcalloc((size_t)steps, sizeof *loss_hist);
    double *acc_hist = xcalloc((size_t)steps, sizeof *acc_hist);
    const double inv_n = 1.0 / n;

    for (int r = 0; r < repeats; r++) {
        memcpy(p, p0, np * sizeof *p);
        for (int k = 0; k < steps; k++) {
            const long long t0 = now_ns();

            /* zero_grad */
            memset(g, 0, np * sizeof *g);

            /* forward, layer by layer over the whole batch */
            for (int l = 0; l < nl; l++) {
                const int nin = width[l], nout = width[l + 1];
                const int hidden = l + 1 < nl;
                const double *w = p + offset[l];
                for (int s = 0; s < n; s++) {
                    const double *in = act[l] + (size_t)s * nin;
                    double *out = act[l + 1] + (size_t)s * nout;
                    for (int j = 0; j < nout; j++) {
                        const double *wj = w + (size_t)j * (nin + 1);
                        double z = wj[nin];
                        for (int i = 0; i < nin; i++) z += wj[i] * in[i];
                        out[j] = hidden && z < 0 ? 0.0 : z;
                    }
                }
            }

            /* loss: mean hinge + L2; and dL/dscore where the hinge is active */
            const double *score = act[nl];
            double hinge = 0.0, sq = 0.0;
            int correct = 0;
            for (int s = 0; s < n; s++) {
                const double margin = score[s] * -y[s] + 1.0;
                const int active = margin > 0;
                hinge += active ? margin : 0.0;
                grad[nl][s] = active ? -y[s] * inv_n : 0.0;
                correct += (score[s] > 0) == (y[s] > 0);
            }
            for (size_t i = 0; i < np; i++) sq += p[i] * p[i];
            const double loss = hinge * inv_n + alpha * sq;

            /* backward: grad[l+1] holds dL/d(output of layer l); turn it into dL/dz
               (relu' on hidden layers), accumulate into the parameters' gradients and
               pass dL/d(input) down to grad[l] */
            for (int l = nl - 1; l >= 0; l--) {
                const int nin = width[l], nout = width[l + 1];
                const int hidden = l + 1 < nl;
                const double *w = p + offset[l];
                double *gw = g + offset[l];
                if (grad[l]) memset(grad[l], 0, (size_t)n * nin * sizeof(double));
                for (int s = 0; s < n; s++) {
                    const double *in = act[l] + (size_t)s * nin;
                    const double *out = act[l + 1] + (size_t)s * nout;
                    const double *dout = grad[l + 1] + (size_t)s * nout;
                    double *din = grad[l] ? grad[l] + (size_t)s * nin : NULL;
                    for (int j = 0; j < nout; j++) {
                        const double dz = hidden && !(out[j] > 0) ? 0.0 : dout[j];
                        if (dz == 0.0) continue;
                        const double *wj = w + (size_t)j * (nin + 1);
                        double *gj = gw + (size_t)j * (nin + 1);
                        for (int i = 0; i < nin; i++) gj[i] += dz * in[i];
                        gj[nin] += dz;
                        if (din)
                            for (int i = 0; i < nin; i++) din[i] += dz * wj[i];
                    }
                }
            }

            /* the penalty's gradient, then the SGD update */
            const double lr = 1.0 - 0.9 * k / 100.0;
            for (size_t i = 0; i < np; i++) {
                g[i] += 2.0 * alpha * p[i];
                p[i] -= lr * g[i];
            }

            step_ns[(size_t)r * steps + k] = now_ns() - t0;
            if (r == 0) {
                loss_hist[k] = loss;
                acc_hist[k] = (double)correct / n;
            }
        }
    }

    printf("{\"step_ns\": [");
    for (size_t i = 0; i < (size_t)steps * repeats; i++)
        printf("%s%lld", i ? ", " : "", step_ns[i]);
    printf("], \"loss\": [");
    for (int k = 0; k < steps; k++) printf("%s%.17g", k ? ", " : "", loss_hist[k]);
    printf("], \"acc\": [");
    for (int k = 0; k < steps; k++) printf("%s%.17g", k ? ", " : "", acc_hist[k]);
    printf("]}\n");

    for (int l = 1; l <= nl; l++) {
        free(act[l]);
        free(grad[l]);
    }
    free(x); free(y); free(p0); free(p); free(g);
    free(step_ns); free(loss_hist); free(acc_hist);
    return 0;
}
