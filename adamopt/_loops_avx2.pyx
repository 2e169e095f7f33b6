# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""The loops of adamopt compiled for x86-64 CPUs with AVX2 and FMA."""

include "_loops.pxi"

NAME = "avx2"
