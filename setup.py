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

Whether the AVX2 variant is built is decided by the target of the build, not
by the machine running it: a probe (`AVX2_PROBE`) is compiled with the
compiler, flags and architecture of the build (``CC``, ``CFLAGS``,
``ARCHFLAGS`` on macOS, a cross compiler) plus ``-mavx2 -mfma``; only if it
compiles is the variant built.  An arm64 build on an x86-64 host (macOS cross
compilation, a universal2 wheel's arm64 half) thus gets no ``-mavx2``, and an
x86-64 build on an arm64 host does.

There is no bounds-checked build (the former ``ADAMOPT_DEBUG_BUILD`` changed
nothing: a ``.pyx`` header's directives win over the ones passed here, and the
loops index raw pointers, where Cython's ``boundscheck`` has nothing to
check).  AddressSanitizer is the check of the compiled code's memory accesses
(``CFLAGS=-fsanitize=address``, as ``.ci/run`` builds it).
"""

import os
import tempfile

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

try:
    from setuptools.errors import CompileError
except ImportError:   # setuptools < 59
    from distutils.errors import CompileError

UNIX_FLAGS = ["-O3", "-fno-math-errno", "-ffp-contract=off"]
MSVC_FLAGS = ["/O2", "/fp:precise"]

#: Extra flags of each instruction-set variant of the loops (GCC and Clang).
VARIANT_FLAGS = {"baseline": [], "avx2": ["-mavx2", "-mfma"]}

#: Compiles only for an x86 target whose compiler accepts AVX2 and FMA code.
AVX2_PROBE = """
#if !(defined(__x86_64__) || defined(__i386__))
#error "not an x86 target"
#endif
#include <immintrin.h>
double adamopt_avx2_probe(double x) {
    __m256d a = _mm256_set1_pd(x);
    return _mm256_cvtsd_f64(_mm256_fmadd_pd(a, a, a));
}
"""


def compiles(compiler, source, flags):
    """Whether ``compiler`` (with the build's own flags and target) compiles
    the C ``source`` with the extra ``flags``."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "probe.c")
        with open(path, "w") as f:
            f.write(source)
        try:
            compiler.compile([path], output_dir=tmp, extra_postargs=flags)
        except CompileError:
            return False
    return True


class BuildExt(build_ext):
    """Choose optimisation flags by the compiler actually used, and build the
    AVX2 variant only for a target that runs it (x86, not MSVC)."""

    def finalize_options(self):
        super().finalize_options()
        if self.parallel is None:   # the three modules compile side by side
            self.parallel = os.cpu_count() or 1

    def build_extensions(self):
        msvc = self.compiler.compiler_type == "msvc"
        flags = MSVC_FLAGS if msvc else UNIX_FLAGS
        if msvc or not compiles(self.compiler, AVX2_PROBE, VARIANT_FLAGS["avx2"]):
            print("adamopt: the target is not x86 with AVX2 (or the compiler is MSVC): "
                  "building the baseline loops only")
            self.extensions = [ext for ext in self.extensions
                               if not ext.name.endswith("_avx2")]
        for ext in self.extensions:
            variant = ext.name.rpartition("_loops_")[2] if "_loops_" in ext.name else None
            extra = [] if msvc or variant is None else VARIANT_FLAGS[variant]
            ext.extra_compile_args = flags + extra + ext.extra_compile_args
        super().build_extensions()


#: The Cython directives of every module; each .pyx header sets the same
#: (a header wins over these), so that cythonizing a file by hand gives the
#: same C.
directives = {
    "language_level": 3,
    "boundscheck": False,
    "wraparound": False,
    "cdivision": True,
    "initializedcheck": False,
    "embedsignature": True,
}

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
        depends=["adamopt/_loops.pxi", "adamopt/_loops_dadapt.pxi", "adamopt/_kernel_api.pxd"],
    )
    for variant in VARIANT_FLAGS
]

setup(
    ext_modules=cythonize(extensions, compiler_directives=directives),
    cmdclass={"build_ext": BuildExt},
)
