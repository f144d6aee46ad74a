"""cffi builder for pymicrograd._C (API mode, out of line).

setup.py names ``build_ext.py:ffibuilder`` in ``cffi_modules``, so ``pip install .``
compiles csrc/ into the extension module ``pymicrograd._C``. For a quick rebuild in
a source checkout use ``pip install -e .`` (running this file by hand would leave a
second, version-tagged .so beside the installed one).
"""

import re
import sys
from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent
CSRC = HERE / "csrc"
SOURCES = sorted(p.name for p in CSRC.glob("*.c"))  # every .c in csrc/ is the core


def cdef_from_header(text: str) -> str:
    """The declarations of mg.h in a form ``ffi.cdef`` parses.

    cdef knows no preprocessor: drop the C++ guard block and every directive except
    ``#define NAME <integer>``, which cdef turns into a Python constant.
    """
    text = re.sub(r"#ifdef __cplusplus.*?#endif", "", text, flags=re.S)
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    keep = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#") and not re.match(r"#define\s+\w+\s+-?\d+\s*$", stripped):
            continue
        keep.append(line)
    return "\n".join(keep)


def compile_args() -> list[str]:
    if sys.platform == "win32":
        return ["/O2", "/std:c11", "/experimental:c11atomics"]
    return ["-std=c11", "-O2"]


PUBLIC_HEADERS = ["mg.h", "mg_nn.h"]  # what Python sees of the core, in include order

ffibuilder = FFI()
ffibuilder.cdef("\n".join(cdef_from_header((CSRC / h).read_text()) for h in PUBLIC_HEADERS))
ffibuilder.set_source(
    "pymicrograd._C",
    "".join(f'#include "{h}"\n' for h in PUBLIC_HEADERS),
    sources=[str((CSRC / name).relative_to(HERE)) for name in SOURCES],
    include_dirs=[str(CSRC.relative_to(HERE))],
    extra_compile_args=compile_args(),
    libraries=[] if sys.platform == "win32" else ["m", "pthread"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
