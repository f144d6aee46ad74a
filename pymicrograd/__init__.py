"""pymicrograd: a scalar autograd engine with a C core.

>>> from pymicrograd import Tensor
>>> a, b = Tensor(2.0), Tensor(-3.0)
>>> c = (a * b + 1.0).tanh()
>>> c.backward()
>>> round(a.gradient, 6), round(b.gradient, 6)
(-0.000545, 0.000363)
"""

from . import batch, losses, nn, optim
from ._core import lib as _lib
from ._core import live_nodes
from ._gradcheck import GradcheckError, gradcheck
from .engine import Number, Tensor, Value

# The version has one home, csrc/mg.h: this is the one compiled into the C core.
__version__ = f"{_lib.MG_VERSION_MAJOR}.{_lib.MG_VERSION_MINOR}.{_lib.MG_VERSION_PATCH}"

__all__ = [
    "GradcheckError",
    "Number",
    "Tensor",
    "Value",
    "__version__",
    "batch",
    "gradcheck",
    "live_nodes",
    "losses",
    "nn",
    "optim",
]
