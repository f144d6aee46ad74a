/*
 * mlp_ref.c -- one training step of an MLP written by hand in C: no graph, no
 * allocation in the loop, nothing but the arithmetic. benchmarks/multiclass_bench.py
 * runs it beside pymicrograd and torch as the floor for each workload. It generalises
 * moons_ref.c (one score, hinge loss, SGD) to any number of outputs, three losses and
 * two optimizers, and writes the layer loops so that a compiler can vectorize them.
 *
 * The step, for an MLP with ReLU hidden layers and a linear last layer:
 *   forward   z = b + w[0]*a[0] + w[1]*a[1] + ...   (in this order, as micrograd's
 *             Neuron sums), a = relu(z) on hidden layers, the outputs o = z on the last
 *   loss      0 hinge + L2:  (1/N) sum_n relu(1 - y[n]*o[n]) + alpha * sum_p p^2
 *             1 cross-entropy: (1/N) sum_n logsumexp(o[n,:]) - o[n, y[n]]
 *             2 mean squared error: (1/N) sum_n (o[n] - y[n])^2
 *   backward  dL/do per sample (the hinge's relu'(0) = 0), then per layer over the
 *             batch: dz = dL/da * relu'(z), dW += dz x a_in, db += dz, dL/da_in = W^T dz
 *   update    0 SGD:  p -= lr_k * g
 *             1 Adam: as torch.optim.Adam (m lerps toward g, v = b2*v + (1-b2)*g*g,
 *                     p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps))
 *             with lr_k = lr - decay * k at step k of a run (moons' 1 - 0.9k/100).
 *
 * Layout: each layer's weights as micrograd orders them (row j = neuron j's nin
 * weights) and, for the forward, a transposed copy made at the start of each step
 * (nin*nout copies, against N*nin*nout multiply-adds), so that every inner loop is an
 * axpy over contiguous doubles: out[:] += x_i * Wt[i,:] forward, gW[j,:] += dz_j * a_in[:]
 * and din[:] += dz_j * W[j,:] backward. The sums keep micrograd's order, so compiled as
 * ISO C (no contraction into fma) the forward values are those of a plain loop.
 *
 * Protocol: commands on stdin, one per line; one JSON line back on stdout for each.
 *   load PATH  read a problem (below) and reset to its initial parameters -> {"ok": 1}
 *   run        train `steps` steps from the initial parameters (Adam's moments and
 *              step count zeroed), timing each -> {"t": [seconds], "loss": [values]}
 *   quit       exit
 * Errors give {"error": "..."} and the program goes on reading commands.
 * Problem file, whitespace separated (doubles printed with repr):
 *   N  nlayers  width[0] .. width[nlayers]  loss  optimizer  lr  decay  alpha  beta1
 *   beta2  eps  steps
 *   X (N * width[0] numbers, row-major)  y (N numbers: labels, classes or targets)
 *   params (micrograd's MLP.parameters() order: per layer, per neuron, weights then bias)
 *
 * Build: cc -O3 -std=c11 [-march=native] -o mlp_ref mlp_ref.c -lm
 */
#define _POSIX_C_SOURCE 199309L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_LAYERS 16

enum { HINGE_L2 = 0, CROSS_ENTROPY = 1, MSE = 2 };
enum { SGD = 0, ADAM = 1 };

typedef struct {
    int n, nl, width[MAX_LAYERS + 1], loss, opt, steps;
    double lr, decay, alpha, beta1, beta2, eps;
    size_t np, offset[MAX_LAYERS + 1]; /* layer l: nout*nin weights, then nout biases */
    double *x, *y, *p0;                 /* data and initial parameters (our layout) */
    double *p, *g, *m, *v;              /* parameters, gradients, Adam's moments */
    double *wt;                         /* the transposed weights of every layer */
    double *act[MAX_LAYERS + 1], *grad[MAX_LAYERS + 1];
} problem;

static problem P;

static double *alloc(size_t n)
{
    return calloc(n ? n : 1, sizeof(double));
}

static void release(void)
{
    free(P.x); free(P.y); free(P.p0); free(P.p); free(P.g); free(P.m); free(P.v);
    free(P.wt);
    for (int l = 1; l <= P.nl; l++) {
        free(P.act[l]);
        free(P.grad[l]);
    }
    memset(&P, 0, sizeof P);
}

/* Read the problem in `path`; 0 on success, else an error message. */
static const char *load(const char *path)
{
    release();
    FILE *f = fopen(path, "r");
    if (!f) return "cannot open the problem file";
    const char *err = NULL;
#define INT(var) do { if (fscanf(f, "%d", &(var)) != 1) { err = "bad integer"; goto out; } } while (0)
#define DBL(var) do { if (fscanf(f, "%lf", &(var)) != 1) { err = "bad number"; goto out; } } while (0)
    INT(P.n);
    INT(P.nl);
    if (P.n < 1 || P.nl < 1 || P.nl > MAX_LAYERS) { err = "need N >= 1, 1..16 layers"; goto out; }
    for (int l = 0; l <= P.nl; l++) {
        INT(P.width[l]);
        if (P.width[l] < 1) { err = "a width must be >= 1"; goto out; }
    }
    INT(P.loss);
    INT(P.opt);
    DBL(P.lr); DBL(P.decay); DBL(P.alpha); DBL(P.beta1); DBL(P.beta2); DBL(P.eps);
    INT(P.steps);
    if (P.loss < 0 || P.loss > 2 || P.opt < 0 || P.opt > 1 || P.steps < 1) {
        err = "bad loss, optimizer or step count"; goto out;
    }
    if (P.loss != CROSS_ENTROPY && P.width[P.nl] != 1) {
        err = "hinge and MSE need one output"; goto out;
    }
    size_t wmax = 0;
    P.offset[0] = 0;
    for (int l = 0; l < P.nl; l++) {
        size_t w = (size_t)P.width[l] * P.width[l + 1];
        P.offset[l + 1] = P.offset[l] + w + P.width[l + 1];
        if (w > wmax) wmax = w;
    }
    P.np = P.offset[P.nl];
    const size_t nx = (size_t)P.n * P.width[0];
    P.x = alloc(nx); P.y = alloc(P.n); P.p0 = alloc(P.np); P.p = alloc(P.np);
    P.g = alloc(P.np); P.m = alloc(P.np); P.v = alloc(P.np); P.wt = alloc(wmax);
    if (!P.x || !P.y || !P.p0 || !P.p || !P.g || !P.m || !P.v || !P.wt) { err = "out of memory"; goto out; }
    P.act[0] = P.x;
    P.grad[0] = NULL; /* nobody needs d/dx */
    for (int l = 1; l <= P.nl; l++) {
        P.act[l] = alloc((size_t)P.n * P.width[l]);
        P.grad[l] = alloc((size_t)P.n * P.width[l]);
        if (!P.act[l] || !P.grad[l]) { err = "out of memory"; goto out; }
    }
    for (size_t i = 0; i < nx; i++) DBL(P.x[i]);
    for (int i = 0; i < P.n; i++) {
        DBL(P.y[i]);
        if (P.loss == CROSS_ENTROPY && !(P.y[i] >= 0 && P.y[i] < P.width[P.nl])) {
            err = "a class is out of range"; goto out;
        }
    }
    /* micrograd's order (per neuron: weights, bias) into ours (weights, then biases) */
    for (int l = 0; l < P.nl; l++) {
        const int nin = P.width[l], nout = P.width[l + 1];
        double *w = P.p0 + P.offset[l], *b = w + (size_t)nout * nin;
        for (int j = 0; j < nout; j++) {
            for (int i = 0; i < nin; i++) DBL(w[(size_t)j * nin + i]);
            DBL(b[j]);
        }
    }
out:
#undef INT
#undef DBL
    fclose(f);
    if (err) release();
    return err;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* The forward pass over the batch, layer by layer. */
static void forward(void)
{
    for (int l = 0; l < P.nl; l++) {
        const int nin = P.width[l], nout = P.width[l + 1], hidden = l + 1 < P.nl;
        const double *w = P.p + P.offset[l], *b = w + (size_t)nout * nin;
        double *wt = P.wt;
        for (int j = 0; j < nout; j++)
            for (int i = 0; i < nin; i++) wt[(size_t)i * nout + j] = w[(size_t)j * nin + i];
        for (int s = 0; s < P.n; s++) {
            const double *in = P.act[l] + (size_t)s * nin;
            double *out = P.act[l + 1] + (size_t)s * nout;
            memcpy(out, b, (size_t)nout * sizeof *out);
            for (int i = 0; i < nin; i++) {
                const double xi = in[i];
                const double *row = wt + (size_t)i * nout;
                for (int j = 0; j < nout; j++) out[j] += xi * row[j];
            }
            if (hidden)
                for (int j = 0; j < nout; j++) out[j] = out[j] < 0 ? 0.0 : out[j];
        }
    }
}

/* The loss of the outputs, and dL/do into grad[nl]. */
static double loss_and_seed(void)
{
    const int n = P.n, k = P.width[P.nl];
    const double inv_n = 1.0 / n, *o = P.act[P.nl];
    double *d = P.grad[P.nl], total = 0.0;
    for (int s = 0; s < n; s++) {
        const double *os = o + (size_t)s * k;
        double *ds = d + (size_t)s * k;
        if (P.loss == HINGE_L2) {
            const double margin = 1.0 - P.y[s] * os[0];
            total += margin > 0 ? margin : 0.0;
            ds[0] = margin > 0 ? -P.y[s] * inv_n : 0.0;
        } else if (P.loss == MSE) {
            const double e = os[0] - P.y[s];
            total += e * e;
            ds[0] = 2.0 * e * inv_n;
        } else {
            double mx = os[0], sum = 0.0;
            for (int j = 1; j < k; j++) mx = os[j] > mx ? os[j] : mx;
            for (int j = 0; j < k; j++) sum += exp(os[j] - mx);
            const int c = (int)P.y[s];
            total += log(sum) - (os[c] - mx);
            for (int j = 0; j < k; j++) ds[j] = exp(os[j] - mx) / sum * inv_n;
            ds[c] -= inv_n;
        }
    }
    double loss = total * inv_n;
    if (P.loss == HINGE_L2) {
        double sq = 0.0;
        for (size_t i = 0; i < P.np; i++) sq += P.p[i] * P.p[i];
        loss += P.alpha * sq;
    }
    return loss;
}

/* Backward over the batch: grad[l+1] holds dL/d(outputs of layer l). */
static void backward(void)
{
    for (int l = P.nl - 1; l >= 0; l--) {
        const int nin = P.width[l], nout = P.width[l + 1], hidden = l + 1 < P.nl;
        const double *w = P.p + P.offset[l];
        double *gw = P.g + P.offset[l], *gb = gw + (size_t)nout * nin;
        for (int s = 0; s < P.n; s++) {
            const double *in = P.act[l] + (size_t)s * nin;
            const double *out = P.act[l + 1] + (size_t)s * nout;
            double *dz = P.grad[l + 1] + (size_t)s * nout;
            double *din = P.grad[l] ? P.grad[l] + (size_t)s * nin : NULL;
            if (hidden)
                for (int j = 0; j < nout; j++) dz[j] = out[j] > 0 ? dz[j] : 0.0;
            if (din) memset(din, 0, (size_t)nin * sizeof *din);
            for (int j = 0; j < nout; j++) {
                const double d = dz[j];
                if (d == 0.0) continue;
                double *gj = gw + (size_t)j * nin;
                const double *wj = w + (size_t)j * nin;
                for (int i = 0; i < nin; i++) gj[i] += d * in[i];
                gb[j] += d;
                if (din)
                    for (int i = 0; i < nin; i++) din[i] += d * wj[i];
            }
        }
    }
}

static void update(int k)
{
    const double lr = P.lr - P.decay * k;
    if (P.loss == HINGE_L2)
        for (size_t i = 0; i < P.np; i++) P.g[i] += 2.0 * P.alpha * P.p[i];
    if (P.opt == SGD) {
        for (size_t i = 0; i < P.np; i++) P.p[i] -= lr * P.g[i];
        return;
    }
    const double t = k + 1, b1 = P.beta1, b2 = P.beta2;
    const double step_size = lr / (1.0 - pow(b1, t)), sqrt_c2 = sqrt(1.0 - pow(b2, t));
    for (size_t i = 0; i < P.np; i++) {
        const double g = P.g[i];
        P.m[i] += (g - P.m[i]) * (1.0 - b1);
        P.v[i] = b2 * P.v[i] + (1.0 - b2) * (g * g);
        P.p[i] -= step_size * (P.m[i] / (sqrt(P.v[i]) / sqrt_c2 + P.eps));
    }
}

static void run(void)
{
    double *t = alloc(P.steps), *loss = alloc(P.steps);
    if (!t || !loss) {
        free(t); free(loss);
        printf("{\"error\": \"out of memory\"}\n");
        return;
    }
    memcpy(P.p, P.p0, P.np * sizeof *P.p);
    memset(P.m, 0, P.np * sizeof *P.m);
    memset(P.v, 0, P.np * sizeof *P.v);
    for (int k = 0; k < P.steps; k++) {
        const double t0 = now();
        memset(P.g, 0, P.np * sizeof *P.g); /* zero_grad */
        forward();
        loss[k] = loss_and_seed();
        backward();
        update(k);
        t[k] = now() - t0;
    }
    printf("{\"t\": [");
    for (int k = 0; k < P.steps; k++) printf("%s%.9g", k ? ", " : "", t[k]);
    printf("], \"loss\": [");
    for (int k = 0; k < P.steps; k++) printf("%s%.17g", k ? ", " : "", loss[k]);
    printf("]}\n");
    free(t);
    free(loss);
}

int main(void)
{
    char line[4096];
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (strncmp(line, "load ", 5) == 0) {
            const char *err = load(line + 5);
            if (err) printf("{\"error\": \"%s\"}\n", err);
            else printf("{\"ok\": 1}\n");
        } else if (strcmp(line, "run") == 0) {
            if (P.np) run();
            else printf("{\"error\": \"no problem loaded\"}\n");
        } else if (strcmp(line, "quit") == 0) {
            break;
        } else {
            printf("{\"error\": \"unknown command\"}\n");
        }
        fflush(stdout);
    }
    release();
    return 0;
}
