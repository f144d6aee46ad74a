/* minimal.c -- the smallest complete program: c = tanh(a * b + 1), dc/da and dc/db.
 *
 *   cc minimal.c $(pkg-config --cflags --libs pymicrograd-core) -o minimal
 */
#include <stdio.h>

#include <mg.h>

int main(void)
{
    mg_node *a = mg_leaf(2.0);
    mg_node *b = mg_leaf(-3.0);
    mg_node *ab = mg_mul(a, b);         /* NULL in, NULL out: check only the end */
    mg_node *ab1 = mg_add_const(ab, 1.0);
    mg_node *c = mg_tanh(ab1);
    int rc = c ? mg_backward(c) : MG_ENOMEM;
    if (rc == MG_OK) {
        printf("c = %.6f, dc/da = %.6g, dc/db = %.6g\n", mg_value(c), mg_grad(a), mg_grad(b));
    } else {
        fprintf(stderr, "out of memory\n");
    }
    /* every node we were handed, we hand back (mg_release ignores NULL) */
    mg_release(c);
    mg_release(ab1);
    mg_release(ab);
    mg_release(a);
    mg_release(b);
    mg_trim();
    return rc == MG_OK ? 0 : 1;
}
