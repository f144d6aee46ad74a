"""cffi needs a setup.py for ``cffi_modules``; all metadata lives in pyproject.toml."""

from setuptools import setup

setup(cffi_modules=["build_ext.py:ffibuilder"])
