"""cffi needs a setup.py for ``cffi_modules``; the metadata lives in pyproject.toml.

Two things pyproject.toml cannot say: the version, read from csrc/mg.h (its one home,
which CMake and the compiled extension read too), and the wheel's tag. The extension
is built for CPython's limited API (cffi does that: ``_C.abi3.so``), so one wheel
serves every CPython from the oldest that ``requires-python`` admits; bdist_wheel
tags it ``cp311-abi3`` only when told.
"""

import re
from pathlib import Path

from setuptools import setup

MG_H = (Path(__file__).resolve().parent / "csrc" / "mg.h").read_text()
VERSION = re.search(r'^#define MG_VERSION "([0-9]+\.[0-9]+\.[0-9]+)"', MG_H, re.M).group(1)

setup(
    version=VERSION,
    cffi_modules=["build_ext.py:ffibuilder"],
    options={"bdist_wheel": {"py_limited_api": "cp311"}},
)
