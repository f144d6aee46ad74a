"""Runs a WebAssembly program (WASI preview 1) under wasmtime, as a native one runs.

    python .ci/wasi-run.py PROGRAM.wasm [ARG...]

The program gets these arguments, this process's stdout and stderr, and read-only
access to the whole file system under the same paths (the fuzz replay reads its inputs
from files named by absolute paths); its exit code becomes this process's. .ci/wasi
passes this as ctest's MG_TEST_LAUNCHER. wasmtime's Python package brings its own
runtime, so PyPI is all it needs.
"""

import sys

from wasmtime import Engine, ExitTrap, Linker, Module, Store, WasiConfig


def main() -> int:
    """Run the program named in argv; return its exit code."""
    program, *args = sys.argv[1:]
    engine = Engine()
    linker = Linker(engine)
    linker.define_wasi()
    config = WasiConfig()
    config.argv = [program, *args]
    config.inherit_stdout()
    config.inherit_stderr()
    config.preopen_dir("/", "/", fs_mutable=False)
    store = Store(engine)
    store.set_wasi(config)
    instance = linker.instantiate(store, Module.from_file(engine, program))
    try:
        instance.exports(store)["_start"](store)
    except ExitTrap as exit_:
        return exit_.code
    return 0


if __name__ == "__main__":
    sys.exit(main())
