/* gradcheck.c -- gradients from mg_backward() against finite differences.
 *
 * f(x, y, z) = tanh(x*y + z) + exp(-x) / (1 + y^2) + log(z) * sigmoid(y)
 *              - relu(x - z) + x ** y + 3 / (z + 2)
 *
 * For a few points, each partial derivative from one backward pass is compared with
 * the central difference (f(v + h) - f(v - h)) / 2h, whose error is O(h^2) plus
 * rounding, about 1e-9 relative here. Exits 1 if any pair differs by more than 1e-6.
 */
#include <math.h>
#include <stdio.h>

#include <mg.h>

/* Nodes made while building one expression, released together at the end. A NULL
   operand makes an op return NULL, so only the final node needs checking. */
typedef struct {
    mg_node *nodes[64];
    int count;
} scope;

static mg_node *keep(scope *s, mg_node *n)
{
    if (s->count < 64) {
        s->nodes[s->count++] = n;
        return n;
    }
    mg_release(n);   /* cannot happen for this expression; stay safe anyway */
    return NULL;
}

static void scope_release(scope *s)
{
    while (s->count) mg_release(s->nodes[--s->count]);
}

/* Builds f over the leaves v[0..2]; every node it makes belongs to s. */
static mg_node *build_f(scope *s, mg_node *const v[3])
{
    mg_node *x = v[0], *y = v[1], *z = v[2];
    mg_node *t1 = keep(s, mg_tanh(keep(s, mg_add(keep(s, mg_mul(x, y)), z))));
    mg_node *t2 = keep(s, mg_div(keep(s, mg_exp(keep(s, mg_neg(x)))),
                                 keep(s, mg_add_const(keep(s, mg_pow_const(y, 2.0)), 1.0))));
    mg_node *t3 = keep(s, mg_mul(keep(s, mg_log(z)), keep(s, mg_sigmoid(y))));
    mg_node *t4 = keep(s, mg_relu(keep(s, mg_sub(x, z))));
    mg_node *t5 = keep(s, mg_pow(x, y));
    mg_node *t6 = keep(s, mg_rdiv_const(3.0, keep(s, mg_add_const(z, 2.0))));
    mg_node *f = keep(s, mg_add(t1, t2));
    f = keep(s, mg_add(f, t3));
    f = keep(s, mg_sub(f, t4));
    f = keep(s, mg_add(f, t5));
    return keep(s, mg_add(f, t6));
}

/* f at the point v, or nan if memory ran out. */
static double eval_f(const double v[3])
{
    scope s = {.count = 0};
    mg_node *leaves[3];
    for (int i = 0; i < 3; i++) leaves[i] = keep(&s, mg_leaf(v[i]));
    mg_node *f = build_f(&s, leaves);
    double value = f ? mg_value(f) : NAN;
    scope_release(&s);
    return value;
}

int main(void)
{
    const double points[][3] = {
        {0.5, 1.5, 2.0},    /* x - z < 0: relu is flat */
        {3.0, -0.7, 0.4},   /* x - z > 0: relu passes the gradient */
        {1.2, 2.2, 0.9},
        {0.8, 0.3, 5.0},
    };
    const char *names = "xyz";
    int failures = 0;
    for (size_t p = 0; p < sizeof points / sizeof points[0]; p++) {
        scope s = {.count = 0};
        mg_node *leaves[3];
        for (int i = 0; i < 3; i++) leaves[i] = keep(&s, mg_leaf(points[p][i]));
        mg_node *f = build_f(&s, leaves);
        if (!f || mg_backward(f) != MG_OK) {
            fprintf(stderr, "out of memory\n");
            scope_release(&s);
            return 2;
        }
        printf("f(%g, %g, %g) = %.12f\n", points[p][0], points[p][1], points[p][2],
               mg_value(f));
        for (int i = 0; i < 3; i++) {
            double v[3] = {points[p][0], points[p][1], points[p][2]};
            double h = 1e-6 * fmax(1.0, fabs(v[i]));
            v[i] = points[p][i] + h;
            double up = eval_f(v);
            v[i] = points[p][i] - h;
            double down = eval_f(v);
            double numeric = (up - down) / (2.0 * h);
            double analytic = mg_grad(leaves[i]);
            double err = fabs(analytic - numeric) / fmax(1.0, fabs(numeric));
            int bad = !(err <= 1e-6);
            failures += bad;
            printf("  df/d%c  backward %+.12f  finite difference %+.12f  error %.1e%s\n",
                   names[i], analytic, numeric, err, bad ? "  MISMATCH" : "");
        }
        scope_release(&s);
    }
    mg_trim();
    if (mg_live_nodes() != 0) {
        fprintf(stderr, "%zu nodes leaked\n", mg_live_nodes());
        return 1;
    }
    if (failures) {
        printf("%d gradients disagree with finite differences\n", failures);
    } else {
        printf("all gradients agree with finite differences\n");
    }
    return failures ? 1 : 0;
}
