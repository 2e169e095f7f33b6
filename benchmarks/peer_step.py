"""Time one Adam step of adamopt against its peers: a careful NumPy Adam, PyTorch
(fused, foreach, single-tensor; one thread), optax under jax.jit, and a
memory-bandwidth probe (peers that are not installed are reported as absent).

Usage::

    python benchmarks/peer_step.py [--sizes 10 10000 1000000 10000000] [--dtypes float64]

Same code as ``python -m adamopt bench`` (adamopt/_bench.py).  Run it while
nothing else runs on the machine: the figures are medians of round-robin
repeats, and the ratios (peer time / adamopt time) are what to compare.
"""

from adamopt._bench import main

if __name__ == "__main__":
    main()
