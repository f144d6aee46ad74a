"""cffi builder for pymicrograd._C (API mode, out of line).

setup.py names ``build_ext.py:ffibuilder`` in ``cffi_modules``, so ``pip install .``
compiles csrc/ into the extension module ``pymicrograd._C``. For a quick rebuild in
a source checkout use ``pip install -e .`` (running this file by hand would leave a
second, version-tagged .so beside the installed one).

PYMICROGRAD_SANITIZE=<sanitizers> (a list for ``-fsanitize=``, such as
``address,undefined``) builds the core with those sanitizers instead of -O2: -O1, -g,
frame pointers (for readable stacks), ``-fno-sanitize-recover=all`` (a UBSan finding
stops the process instead of printing and going on) and ``-DMG_NO_NODE_CACHE``
(csrc/node.c then frees every dead node at once, so that AddressSanitizer sees a later
use of one). GCC or Clang; .ci/asan-python uses Clang (it says why). Python itself is
not instrumented, so the sanitizer's runtime must be loaded first, with LD_PRELOAD:
.ci/asan-python builds this way in a copy of the checkout and runs the whole test
suite under it; the README shows the commands to do it by hand.
"""

import os
import re
import sys
from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent
CSRC = HERE / "csrc"
SOURCES = sorted(p.name for p in CSRC.glob("*.c"))  # every .c in csrc/ is the core


def cdef_from_header(text: str) -> str:
    """The declarations of mg.h in a form ``ffi.cdef`` parses.

    cdef knows no preprocessor: drop the C++ guard block, every directive except
    ``#define NAME <integer>`` (which cdef turns into a Python constant) and the
    ``MG_API`` export macro in front of each function.
    """
    text = re.sub(r"#ifdef __cplusplus.*?#endif", "", text, flags=re.S)
    text = re.sub(r"^MG_API ", "", text, flags=re.M)
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    keep = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#") and not re.match(r"#define\s+\w+\s+-?\d+\s*$", stripped):
            continue
        keep.append(line)
    return "\n".join(keep)


SANITIZE = os.environ.get("PYMICROGRAD_SANITIZE", "")


# Every product rounded before it is added, as the scalar graph does: no fused
# multiply-add (which Clang, and GCC outside ISO C mode, would otherwise make where
# the CPU has one), so that the batch kernels give the scalar graph's values to the bit.
EXACT_FP = ["-ffp-contract=off"]


def compile_args() -> list[str]:
    if sys.platform == "win32":
        if SANITIZE:
            raise RuntimeError("PYMICROGRAD_SANITIZE: GCC and Clang only, not MSVC")
        return ["/O2", "/std:c11", "/experimental:c11atomics"]
    if SANITIZE:
        # -O1 keeps the tests' speed bearable and the stacks true to the source; the
        # last -O on the command line wins over the -O2/-O3 in Python's own CFLAGS.
        return ["-std=c11", "-O1", "-g", "-fno-omit-frame-pointer", f"-fsanitize={SANITIZE}",
                "-fno-sanitize-recover=all", "-DMG_NO_NODE_CACHE", *EXACT_FP]
    # -g0 overrides the -g in Python's own CFLAGS: a wheel ships no debug info
    return ["-std=c11", "-O2", "-g0", *EXACT_FP]


def link_args() -> list[str]:
    if SANITIZE:
        # links the sanitizers' runtimes (shared ones with GCC: libasan, libubsan)
        return [f"-fsanitize={SANITIZE}"]
    if sys.platform.startswith("linux"):
        return ["-s"]   # no symbol table either: 305 KB with both, 94 KB without
    return []


PUBLIC_HEADERS = ["mg.h", "mg_nn.h"]  # what Python sees of the core, in include order

# Tensor's C half (pymicrograd/_tensor.c: it says why), compiled beside the core; _core.py
# calls this once to get its type.
TENSOR_C = "pymicrograd/_tensor.c"
TENSOR_INSTALL = "int mg__py_install(void *namespace_dict);"

ffibuilder = FFI()
ffibuilder.cdef("\n".join(cdef_from_header((CSRC / h).read_text()) for h in PUBLIC_HEADERS)
                + "\n" + TENSOR_INSTALL)
ffibuilder.set_source(
    "pymicrograd._C",
    "".join(f'#include "{h}"\n' for h in PUBLIC_HEADERS) + TENSOR_INSTALL + "\n",
    sources=[str((CSRC / name).relative_to(HERE)) for name in SOURCES] + [TENSOR_C],
    include_dirs=[str(CSRC.relative_to(HERE))],
    extra_compile_args=compile_args(),
    extra_link_args=link_args(),
    libraries=[] if sys.platform == "win32" else ["m", "pthread"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
