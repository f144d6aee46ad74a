/* optim.c -- SGD and Adam/AdamW: one call updates every parameter, as torch.optim. */
#include <math.h>

#include "mg_internal.h"
#include "mg_nn.h"

typedef enum { RULE_SGD, RULE_ADAM } update_rule;   /* what mg_optimizer_step does */

struct mg_optimizer {
    update_rule rule;
    size_t n;
    mg_node **params;    /* the optimizer holds a reference to each */
    double *m;           /* SGD: momentum buffer; Adam: first moment */
    double *v;           /* Adam: second moment */
    double momentum, wd, beta1, beta2, eps;
    int decoupled;       /* AdamW */
    long steps;          /* steps taken so far */
};

static mg_optimizer *optimizer_new(update_rule rule, mg_node *const *params, size_t n)
{
    if (!params && n) return NULL;
    for (size_t i = 0; i < n; i++)
        if (!params[i]) return NULL;
    mg_optimizer *o = mg__malloc(sizeof *o);
    if (!o) return NULL;
    size_t bytes = (n ? n : 1) * sizeof(double);
    *o = (mg_optimizer){.rule = rule, .n = n};
    o->params = mg__malloc((n ? n : 1) * sizeof *o->params);
    o->m = mg__malloc(bytes);
    o->v = rule == RULE_ADAM ? mg__malloc(bytes) : NULL;
    if (!o->params || !o->m || (rule == RULE_ADAM && !o->v)) {
        mg__free(o->params);
        mg__free(o->m);
        mg__free(o->v);
        mg__free(o);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        o->params[i] = mg_retain(params[i]);
        o->m[i] = 0.0;
        if (o->v) o->v[i] = 0.0;
    }
    return o;
}

mg_optimizer *mg_sgd_new(mg_node *const *params, size_t n, double momentum, double wd)
{
    mg_optimizer *o = optimizer_new(RULE_SGD, params, n);
    if (o) {
        o->momentum = momentum;
        o->wd = wd;
    }
    return o;
}

mg_optimizer *mg_adam_new(mg_node *const *params, size_t n, double beta1, double beta2,
                          double eps, double wd, int decoupled)
{
    mg_optimizer *o = optimizer_new(RULE_ADAM, params, n);
    if (o) {
        o->beta1 = beta1;
        o->beta2 = beta2;
        o->eps = eps;
        o->wd = wd;
        o->decoupled = decoupled != 0;
    }
    return o;
}

/* d = grad + wd * p; with momentum, buf = momentum * buf + d (buf = d at first). */
static void sgd_step(mg_optimizer *o, double lr)
{
    for (size_t i = 0; i < o->n; i++) {
        mg_node *p = o->params[i];
        double d = p->grad + o->wd * p->value;
        if (o->momentum != 0.0) {
            o->m[i] = o->steps == 0 ? d : o->momentum * o->m[i] + d;
            d = o->m[i];
        }
        p->value -= lr * d;
    }
}

/* torch.optim.Adam: moments with bias correction, step lr / (1 - beta1^t). */
static void adam_step(mg_optimizer *o, double lr)
{
    double t = (double)(o->steps + 1);
    double correction1 = 1.0 - pow(o->beta1, t);
    double sqrt_correction2 = sqrt(1.0 - pow(o->beta2, t));
    double step_size = lr / correction1;
    for (size_t i = 0; i < o->n; i++) {
        mg_node *p = o->params[i];
        double g = p->grad;
        if (o->decoupled)
            p->value *= 1.0 - lr * o->wd;
        else
            g += o->wd * p->value;
        o->m[i] += (g - o->m[i]) * (1.0 - o->beta1);   /* torch's lerp toward g */
        o->v[i] = o->beta2 * o->v[i] + (1.0 - o->beta2) * g * g;
        double denom = sqrt(o->v[i]) / sqrt_correction2 + o->eps;
        p->value -= step_size * (o->m[i] / denom);
    }
}

void mg_optimizer_step(mg_optimizer *o, double lr)
{
    if (o->rule == RULE_SGD)
        sgd_step(o, lr);
    else
        adam_step(o, lr);
    o->steps++;
}

void mg_optimizer_zero_grad(mg_optimizer *o)
{
    for (size_t i = 0; i < o->n; i++) o->params[i]->grad = 0.0;
}

size_t mg_optimizer_param_count(const mg_optimizer *o) { return o->n; }

/* The state is what a step reads besides the parameters: the buffers and the step
   count (SGD's first step starts its buffer from d; Adam's bias correction uses t). */
int mg_optimizer_get_state(const mg_optimizer *o, double *m, double *v, long *steps)
{
    if (!m || !steps || (o->rule == RULE_ADAM && !v)) return MG_EINVAL;
    for (size_t i = 0; i < o->n; i++) {
        m[i] = o->m[i];
        if (o->rule == RULE_ADAM) v[i] = o->v[i];
    }
    *steps = o->steps;
    return MG_OK;
}

int mg_optimizer_set_state(mg_optimizer *o, const double *m, const double *v, long steps)
{
    if (!m || steps < 0 || (o->rule == RULE_ADAM && !v)) return MG_EINVAL;
    for (size_t i = 0; i < o->n; i++) {
        o->m[i] = m[i];
        if (o->rule == RULE_ADAM) o->v[i] = v[i];
    }
    o->steps = steps;
    return MG_OK;
}

void mg_optimizer_free(mg_optimizer *o)
{
    if (!o) return;
    for (size_t i = 0; i < o->n; i++) mg_release(o->params[i]);
    mg__free(o->params);
    mg__free(o->m);
    mg__free(o->v);
    mg__free(o);
}
