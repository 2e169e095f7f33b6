# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""The loops of adamopt compiled for any CPU (SSE2 on x86-64)."""

include "_loops.pxi"

NAME = "baseline"
