/* _tensor.c -- the C half of pymicrograd's Tensor: a Python object that owns one
   reference to a graph node, and the operators that build new nodes.

   Why this is C and not cffi: a Tensor must own its node from the instant the node
   exists. Through cffi, an op's result comes back to Python as a bare pointer, and
   Python may run a signal handler (Ctrl-C) before anything owns it; closing that
   window from Python (ffi.gc, taken through map) cost 1.5x per op. Here an op makes
   the node and the object that owns it in one C function, during which no Python
   code runs, and the object's dealloc gives the node back.

   This file is not part of the C core: it is compiled into pymicrograd._C beside it
   (build_ext.py), uses only CPython's limited API (the module stays abi3), and calls
   the core only through mg.h. _core.py installs it at import (mg__py_install).

   The GIL stays held through each op (cffi would release and retake it, which costs
   more than the op). No thread waits for the GIL while holding one of the core's
   locks, so this cannot deadlock; the one exception would be an allocator given to
   mg_set_allocator that is Python code (the tests' counting allocator), which must
   then not be used from several threads. */
#define Py_LIMITED_API 0x030B0000
#include <Python.h>
#include <stdint.h>

#include "mg.h"

int mg__py_install(void *namespace_dict);

typedef struct {
    PyObject_HEAD
    mg_node *node;   /* one reference, owned; NULL until initialized */
} TensorBase;

static PyTypeObject *tensor_type;   /* TensorBase */
static PyObject *float_or_none;     /* _core.float_or_none: the one rule for numbers */
static PyObject *as_float;          /* _core.as_float: the same, for a value set */
static PyObject *out_of_memory;     /* _core.out_of_memory: the one text for it */

static int is_tensor(PyObject *o)
{
    return Py_TYPE(o) == tensor_type || PyType_IsSubtype(Py_TYPE(o), tensor_type);
}

/* An exception of type exc whose message is format with o's type name for its %U */
static void raise_naming_type(PyObject *exc, const char *format, PyObject *o)
{
    PyObject *name = PyType_GetName(Py_TYPE(o));
    if (!name) return;
    PyErr_Format(exc, format, name);
    Py_DECREF(name);
}

/* o's node; NULL with RuntimeError for an object whose __init__ never ran */
static mg_node *node_of(PyObject *o)
{
    mg_node *n = ((TensorBase *)o)->node;
    if (!n) raise_naming_type(PyExc_RuntimeError, "this %U was never initialized", o);
    return n;
}

static PyObject *raise_out_of_memory(const char *what)
{
    PyObject *err = PyObject_CallFunction(out_of_memory, "s", what);
    if (err) {
        PyErr_SetObject((PyObject *)Py_TYPE(err), err);
        Py_DECREF(err);
    }
    return NULL;
}

/* Gives back a reference to n (NULL: nothing). A user's allocator (mg_set_allocator)
   may be Python code, which must not see an exception being raised: set it aside. */
static void release(mg_node *n)
{
    if (!n) return;
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    mg_release(n);
    PyErr_Restore(type, value, traceback);
}

/* A new object of type tp owning n (a new reference, given up on failure). */
static PyObject *wrap(PyTypeObject *tp, mg_node *n, const char *what)
{
    if (!n) return raise_out_of_memory(what);
    allocfunc alloc = (allocfunc)PyType_GetSlot(tp, Py_tp_alloc);
    PyObject *out = alloc(tp, 0);
    if (!out) {
        release(n);
        return NULL;
    }
    ((TensorBase *)out)->node = n;
    return out;
}

/* x as a double: 1, 0 when x is not a number (the op is NotImplemented), -1 on error.
   Exact floats and ints are read here; every other type goes by _core's rule. */
static int number_of(PyObject *x, double *out, const char *what)
{
    if (PyFloat_CheckExact(x)) {
        *out = PyFloat_AsDouble(x);
        return 1;
    }
    if (PyLong_CheckExact(x)) {
        *out = PyLong_AsDouble(x);
        if (!(*out == -1.0 && PyErr_Occurred())) return 1;
        PyErr_Clear();   /* too large: _core's rule raises the error that says so */
    }
    PyObject *f = PyObject_CallFunction(float_or_none, "Os", x, what);
    if (!f) return -1;
    int ok = f != Py_None;
    if (ok) *out = PyFloat_AsDouble(f);
    Py_DECREF(f);
    return ok;
}

/* ---- binary operators: a Tensor or a plain number on either side ------------------ */

static mg_node *add_const_right(double c, mg_node *a) { return mg_add_const(a, c); }
static mg_node *mul_const_right(double c, mg_node *a) { return mg_mul_const(a, c); }
static mg_node *sub_const(mg_node *a, double c) { return mg_add_const(a, -c); }

typedef struct {
    const char *name;                             /* for a failure's message */
    const char *operand;                          /* "an operand of +" */
    mg_node *(*both)(mg_node *, mg_node *);       /* tensor op tensor */
    mg_node *(*tensor_number)(mg_node *, double); /* tensor op number */
    mg_node *(*number_tensor)(double, mg_node *); /* number op tensor */
} binary_op;

static const binary_op ADD = {"add", "an operand of +", mg_add, mg_add_const, add_const_right};
static const binary_op SUB = {"sub", "an operand of -", mg_sub, sub_const, mg_rsub_const};
static const binary_op MUL = {"mul", "an operand of *", mg_mul, mg_mul_const, mul_const_right};
static const binary_op DIV = {"div", "an operand of /", mg_div, mg_div_const, mg_rdiv_const};
static const binary_op POW = {"pow", "an operand of **", mg_pow, mg_pow_const, mg_rpow_const};

/* a op b. The result is of the Tensor operand's type; of two, the more derived one
   (a subclass's ops make the subclass, from either side). */
static PyObject *binary(PyObject *a, PyObject *b, const binary_op *op)
{
    double c;
    int ok;
    if (is_tensor(a)) {
        mg_node *x = node_of(a);
        if (!x) return NULL;
        if (is_tensor(b)) {
            mg_node *y = node_of(b);
            if (!y) return NULL;
            PyTypeObject *tp = PyType_IsSubtype(Py_TYPE(b), Py_TYPE(a)) ? Py_TYPE(b) : Py_TYPE(a);
            return wrap(tp, op->both(x, y), op->name);
        }
        if ((ok = number_of(b, &c, op->operand)) <= 0) goto not_a_number;
        return wrap(Py_TYPE(a), op->tensor_number(x, c), op->name);
    }
    if (!is_tensor(b)) Py_RETURN_NOTIMPLEMENTED;   /* Python calls a slot of ours with a
                                                      Tensor on one side: never taken */
    mg_node *y = node_of(b);
    if (!y) return NULL;
    if ((ok = number_of(a, &c, op->operand)) <= 0) goto not_a_number;
    return wrap(Py_TYPE(b), op->number_tensor(c, y), op->name);
not_a_number:
    if (ok < 0) return NULL;
    Py_RETURN_NOTIMPLEMENTED;
}

static PyObject *nb_add(PyObject *a, PyObject *b) { return binary(a, b, &ADD); }
static PyObject *nb_sub(PyObject *a, PyObject *b) { return binary(a, b, &SUB); }
static PyObject *nb_mul(PyObject *a, PyObject *b) { return binary(a, b, &MUL); }
static PyObject *nb_div(PyObject *a, PyObject *b) { return binary(a, b, &DIV); }

static PyObject *nb_pow(PyObject *a, PyObject *b, PyObject *modulus)
{
    if (modulus != Py_None) Py_RETURN_NOTIMPLEMENTED;   /* pow(a, b, m) has no meaning here */
    return binary(a, b, &POW);
}

/* ---- unary ops ------------------------------------------------------------------------ */

static PyObject *unary(PyObject *self, mg_node *(*fn)(mg_node *), const char *name)
{
    mg_node *x = node_of(self);
    return x ? wrap(Py_TYPE(self), fn(x), name) : NULL;
}

static PyObject *nb_neg(PyObject *self) { return unary(self, mg_neg, "neg"); }

static PyObject *nb_pos(PyObject *self)
{
    if (!node_of(self)) return NULL;
    Py_INCREF(self);
    return self;
}

/* self._unary(op): a new Tensor of self's class holding fn(self's node), where op is
   (fn, name): the address of a one-operand op of mg.h (mg_tanh, ...) and its name (for
   a failure's message). engine.py's methods call it, so that a new op needs no C here.
   Private, as lib's functions are: any other address is undefined behaviour. */
static PyObject *method_unary(PyObject *self, PyObject *op)
{
    PyObject *address = PyTuple_GetItem(op, 0), *text = PyTuple_GetItem(op, 1);
    if (!address || !text) return NULL;
    mg_node *(*fn)(mg_node *) = (mg_node *(*)(mg_node *))PyLong_AsVoidPtr(address);
    const char *name = PyUnicode_AsUTF8AndSize(text, NULL);
    if (!fn || !name) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "a NULL function");
        return NULL;
    }
    return unary(self, fn, name);
}

/* ---- making and owning a node -------------------------------------------------------- */

static int check_uninitialized(PyObject *self)
{
    if (!((TensorBase *)self)->node) return 0;
    raise_naming_type(PyExc_RuntimeError, "this %U is already initialized", self);
    return -1;
}

/* self._init_leaf(value): self becomes a new leaf (value: a float) */
static PyObject *method_init_leaf(PyObject *self, PyObject *value)
{
    double v = PyFloat_AsDouble(value);
    if (v == -1.0 && PyErr_Occurred()) return NULL;
    if (check_uninitialized(self) < 0) return NULL;
    mg_node *n = mg_leaf(v);
    if (!n) return raise_out_of_memory("Tensor");
    ((TensorBase *)self)->node = n;
    Py_RETURN_NONE;
}

/* self._adopt(address): self takes a reference of its own to the node at `address`,
   which the caller keeps alive during the call. Private, as lib's functions are: an
   address that is not a live node's is undefined behaviour. */
static PyObject *method_adopt(PyObject *self, PyObject *address)
{
    void *p = PyLong_AsVoidPtr(address);
    if (!p) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "a NULL node");
        return NULL;
    }
    if (check_uninitialized(self) < 0) return NULL;
    mg_node *n = mg_retain((mg_node *)p);   /* NULL: its count is full (as cffi's callers) */
    if (!n) return raise_out_of_memory("Tensor");
    ((TensorBase *)self)->node = n;
    Py_RETURN_NONE;
}

static void tensor_dealloc(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    mg_node *n = ((TensorBase *)self)->node;
    freefunc free_object = (freefunc)PyType_GetSlot(tp, Py_tp_free);
    free_object(self);
    release(n);
    Py_DECREF(tp);   /* a heap type's instance holds a reference to its type */
}

/* ---- values, identity -------------------------------------------------------------- */

static PyObject *get_value(PyObject *self, void *unused)
{
    (void)unused;
    mg_node *n = node_of(self);
    return n ? PyFloat_FromDouble(mg_value(n)) : NULL;
}

static PyObject *get_gradient(PyObject *self, void *unused)
{
    (void)unused;
    mg_node *n = node_of(self);
    return n ? PyFloat_FromDouble(mg_grad(n)) : NULL;
}

/* self's `what` (value or gradient) set to x, read by _core's rule (as_float) */
static int set_number(PyObject *self, PyObject *x, const char *what,
                      void (*set)(mg_node *, double))
{
    mg_node *n;
    double v;
    if (!x) {
        PyErr_Format(PyExc_AttributeError, "%s cannot be deleted", what);
        return -1;
    }
    if (!(n = node_of(self))) return -1;
    if (PyFloat_CheckExact(x)) {
        v = PyFloat_AsDouble(x);
    } else {
        PyObject *f = PyObject_CallFunction(as_float, "Os", x, what);
        if (!f) return -1;
        v = PyFloat_AsDouble(f);
        Py_DECREF(f);
    }
    set(n, v);
    return 0;
}

static int set_value(PyObject *self, PyObject *x, void *unused)
{
    (void)unused;
    return set_number(self, x, "value", mg_set_value);
}

static int set_gradient(PyObject *self, PyObject *x, void *unused)
{
    (void)unused;
    return set_number(self, x, "gradient", mg_set_grad);
}

static PyObject *get_address(PyObject *self, void *unused)
{
    (void)unused;
    return PyLong_FromVoidPtr(((TensorBase *)self)->node);
}

/* Identity: two objects are equal when they own the same node (micrograd's Values
   compare by identity too); the hash is the node's address, as hash() of that int. */
static Py_hash_t tensor_hash(PyObject *self)
{
    mg_node *n = node_of(self);
    return n ? (Py_hash_t)(uintptr_t)n : -1;
}

static PyObject *tensor_richcompare(PyObject *a, PyObject *b, int op)
{
    if ((op != Py_EQ && op != Py_NE) || !is_tensor(b)) Py_RETURN_NOTIMPLEMENTED;
    int same = ((TensorBase *)a)->node == ((TensorBase *)b)->node;
    return PyBool_FromLong(op == Py_EQ ? same : !same);
}

/* ---- the type ------------------------------------------------------------------------- */

static PyMethodDef methods[] = {
    {"_unary", method_unary, METH_O,
     "_unary((fn, name)): a new Tensor holding the one-operand op at address fn (private)."},
    {"_init_leaf", method_init_leaf, METH_O,
     "Make self a new leaf holding value (a float); RuntimeError if already made."},
    {"_adopt", method_adopt, METH_O,
     "Take a reference to the node at an address (kept alive by the caller)."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef getset[] = {
    {"value", get_value, set_value,
     "The forward value. Writable: ``p.value -= lr * p.gradient`` updates a leaf.", NULL},
    {"gradient", get_gradient, set_gradient,
     "d(root)/d(self) summed over every backward() call so far; writable (reset to 0).",
     NULL},
    {"_address", get_address, NULL, "The node's address (0 before initialization).", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot slots[] = {
    {Py_tp_doc, (void *)"The C half of a Tensor: one owned graph node and its operators."},
    {Py_tp_dealloc, (void *)tensor_dealloc},
    {Py_tp_hash, (void *)tensor_hash},
    {Py_tp_richcompare, (void *)tensor_richcompare},
    {Py_tp_methods, methods},
    {Py_tp_getset, getset},
    {Py_nb_add, (void *)nb_add},
    {Py_nb_subtract, (void *)nb_sub},
    {Py_nb_multiply, (void *)nb_mul},
    {Py_nb_true_divide, (void *)nb_div},
    {Py_nb_power, (void *)nb_pow},
    {Py_nb_negative, (void *)nb_neg},
    {Py_nb_positive, (void *)nb_pos},
    {0, NULL},
};

static PyType_Spec spec = {
    .name = "pymicrograd._C.TensorBase",
    .basicsize = sizeof(TensorBase),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .slots = slots,
};

/* Puts TensorBase into namespace_dict (a dict, passed as id(dict): CPython's address
   of it), reading float_or_none, as_float and out_of_memory from it. 0, or -1 with an exception
   set that Python cannot see (the caller checks the 0). cffi calls it without the GIL. */
int mg__py_install(void *namespace_dict)
{
    PyGILState_STATE gil = PyGILState_Ensure();
    PyObject *ns = (PyObject *)namespace_dict;
    int status = -1;
    if (!tensor_type) {
        float_or_none = PyDict_GetItemString(ns, "float_or_none");
        as_float = PyDict_GetItemString(ns, "as_float");
        out_of_memory = PyDict_GetItemString(ns, "out_of_memory");
        if (!float_or_none || !as_float || !out_of_memory) goto done;
        Py_INCREF(float_or_none);
        Py_INCREF(as_float);
        Py_INCREF(out_of_memory);
        tensor_type = (PyTypeObject *)PyType_FromSpec(&spec);
        if (!tensor_type) goto done;
    }
    status = PyDict_SetItemString(ns, "TensorBase", (PyObject *)tensor_type);
done:
    if (status < 0) PyErr_Print();
    PyGILState_Release(gil);
    return status;
}
