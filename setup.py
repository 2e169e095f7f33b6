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
The loops are built once per instruction set instead, from the same source
(``_loops.pxi``): ``adamopt._loops_baseline`` with the flags above and, on
x86 with GCC or Clang, ``adamopt._loops_avx2`` with ``-mavx2 -mfma`` as well
(``-ffp-contract=off`` still forbids fused multiply-adds, so both round every
operation alike).  ``adamopt._kernels`` picks the best one the CPU runs at
import time; ``ADAMOPT_KERNEL=baseline`` forces the baseline.
"""

import os
import platform

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

UNIX_FLAGS = ["-O3", "-fno-math-errno", "-ffp-contract=off"]
MSVC_FLAGS = ["/O2", "/fp:precise"]


#: Extra flags of each instruction-set variant of the loops (GCC and Clang).
VARIANT_FLAGS = {"baseline": [], "avx2": ["-mavx2", "-mfma"]}
X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")


class BuildExt(build_ext):
    """Choose optimisation flags by the compiler actually used, and build the
    AVX2 variant only where it can be built (x86, not MSVC)."""

    def build_extensions(self):
        msvc = self.compiler.compiler_type == "msvc"
        flags = MSVC_FLAGS if msvc else UNIX_FLAGS
        if msvc or not X86:
            self.extensions = [ext for ext in self.extensions
                               if not ext.name.endswith("_avx2")]
        for ext in self.extensions:
            variant = ext.name.rpartition("_loops_")[2] if "_loops_" in ext.name else None
            extra = [] if msvc or variant is None else VARIANT_FLAGS[variant]
            ext.extra_compile_args = flags + extra + ext.extra_compile_args
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
        ["adamopt/_kernels.pyx"],
        include_dirs=[np.get_include(), "adamopt"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        depends=["adamopt/_pool.h", "adamopt/_kernel_api.pxd"],
    )
] + [
    Extension(
        f"adamopt._loops_{variant}",
        [f"adamopt/_loops_{variant}.pyx"],
        depends=["adamopt/_loops.pxi", "adamopt/_kernel_api.pxd"],
    )
    for variant in VARIANT_FLAGS
]

setup(
    ext_modules=cythonize(extensions, compiler_directives=directives),
    cmdclass={"build_ext": BuildExt},
)
