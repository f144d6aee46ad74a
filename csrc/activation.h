/* activation.h -- the math of each activation, once: its value and g times its
   derivative. The scalar ops (ops.c), the neuron nodes (nn.c) and the batches
   (batch.c, through mg__activate and mg__neuron_dz in mg_internal.h) all call these,
   so the three paths give the same bits. Private to the core, not installed.

   Each derivative is written with the output y = act(z), which the node stores, so
   the backward pass calls no tanh or exp. */
#ifndef MG_ACTIVATION_H
#define MG_ACTIVATION_H

#include <math.h>

/* tanh: libm's, exactly 1.0 for large z; d/dz = 1 - y^2 */
static inline double mg__tanh(double z) { return tanh(z); }
static inline double mg__tanh_dz(double y, double g) { return g * (1.0 - y * y); }

/* relu: max(z, 0), nan stays nan. torch's choice at the kink: the gradient is 0 where
   y <= 0 (z == 0 included) and passes on where y is nan (nan <= 0 is false). */
static inline double mg__relu(double z) { return z > 0.0 ? z : (z == z ? 0.0 : z); }
static inline int mg__relu_passes(double y) { return !(y <= 0.0); }
static inline double mg__relu_dz(double y, double g) { return mg__relu_passes(y) ? g : 0.0; }

/* sigmoid: 1 / (1 + e^-z), with exp of a non-positive number only, so neither branch
   overflows to inf/inf; d/dz = y (1 - y) */
static inline double mg__sigmoid(double z)
{
    return z >= 0.0 ? 1.0 / (1.0 + exp(-z)) : exp(z) / (1.0 + exp(z));
}
static inline double mg__sigmoid_dz(double y, double g) { return g * (1.0 - y) * y; }

#endif /* MG_ACTIVATION_H */
