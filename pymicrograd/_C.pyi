# Type stub for the cffi-generated extension module (built from csrc/ by build_ext.py).
from typing import Any

ffi: Any
lib: Any
