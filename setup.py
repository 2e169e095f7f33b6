"""Build the compiled kernels of adamopt.

The package metadata lives in ``pyproject.toml``; this file only declares the
Cython extension and its compiler flags.

Flags (GCC and Clang):

``-O3``
    Enables the loop vectoriser.
``-fno-math-errno``
    ``sqrt`` never sets ``errno``, so the compiler may use the ``sqrtpd``
    instruction inside a vectorised loop (with errno semantics GCC keeps a
    scalar call to ``sqrt`` on the slow path and does not vectorise at all).
``-ffp-contract=off``
    No fused multiply-add contraction: every build, on every CPU, rounds each
    operation the same way, so results are bitwise reproducible and equal to
    the NumPy reference's operation order.

No ``-march`` flag is used: the wheel must run on any x86-64 (SSE2) CPU.
"""

import os

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

UNIX_FLAGS = ["-O3", "-fno-math-errno", "-ffp-contract=off"]
MSVC_FLAGS = ["/O2", "/fp:precise"]


class BuildExt(build_ext):
    """Choose optimisation flags by the compiler actually used."""

    def build_extensions(self):
        flags = MSVC_FLAGS if self.compiler.compiler_type == "msvc" else UNIX_FLAGS
        for ext in self.extensions:
            ext.extra_compile_args = flags + ext.extra_compile_args
        super().build_extensions()


directives = {
    "language_level": 3,
    "boundscheck": False,
    "wraparound": False,
    "cdivision": True,
    "initializedcheck": False,
    "embedsignature": True,
}
if os.environ.get("ADAMOPT_DEBUG_BUILD"):
    # Bounds-checked build for debugging the kernels.
    directives.update(boundscheck=True, wraparound=True, cdivision=False)

extensions = [
    Extension(
        "adamopt._kernels",
        ["src/adamopt/_kernels.pyx"],
        include_dirs=[np.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    )
]

setup(
    ext_modules=cythonize(extensions, compiler_directives=directives),
    cmdclass={"build_ext": BuildExt},
)
