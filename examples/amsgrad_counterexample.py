"""Adam versus AMSGrad on Reddi, Kale & Kumar's (2018) online problem
==================================================================

The loss at step t is f_t(x) = C x when t mod 3 == 1 and -x otherwise, on the
interval [-1, 1], with C > 2.  Every three steps the losses add up to
(C - 2) x, so the best point is x = -1.  With beta1 = 0 and
beta2 = 1 / (1 + C^2), Adam's second moment forgets the rare large gradient C
so quickly that the two small steps towards +1 outweigh the large step towards
-1: Adam ends at +1, the worst point.  AMSGrad divides by the largest second
moment seen so far, and goes to -1.

Run: ``python examples/amsgrad_counterexample.py`` (under a second; ``--quick``
for 600 steps); with matplotlib it writes ``amsgrad_counterexample.png`` (the
iterate of each method against the steps).
Reference: S. J. Reddi, S. Kale and S. Kumar, "On the Convergence of Adam and
Beyond", ICLR 2018, arXiv:1904.09237, section 3.
"""

import argparse
import itertools
import math

import numpy as np
from scipy.optimize import minimize

import adamopt

C = 3.0


def linear(x, c):
    """The loss revealed at this step, c x, and its gradient."""
    return c * x[0], np.array([c])


def main(argv=None):
    parser = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])
    parser.add_argument("--quick", action="store_true", help="600 steps instead of 3000")
    parser.add_argument("--plot", default="amsgrad_counterexample.png",
                        help="where to write the figure (with matplotlib)")
    args = parser.parse_args(argv)
    steps = 600 if args.quick else 3000
    print(f"f_t(x) = {C:g} x if t mod 3 == 1 else -x, on [-1, 1]; the optimum is x = -1")
    paths = {}
    for amsgrad in (False, True):
        path = []
        res = minimize(linear, np.zeros(1), jac=True, method=adamopt.adam,
                       bounds=[(-1, 1)], callback=lambda xk, path=path: path.append(xk[0]),
                       options={"lr": lambda t: 0.5 / math.sqrt(t), "beta1": 0.0,
                                "beta2": 1 / (1 + C**2), "amsgrad": amsgrad,
                                "maxiter": steps, "gtol": 0,
                                "batches": itertools.cycle([C, -1.0, -1.0])})
        name = "AMSGrad" if amsgrad else "Adam   "
        paths[name.strip()] = path
        print(f"{name}  x after {res.nit} steps = {res.x[0]:+.4f}   "
              f"average loss per step = {(C - 2) * res.x[0] / 3:+.4f}")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(install matplotlib for a figure)")
        return
    figure, ax = plt.subplots(figsize=(6.4, 3.6), layout="constrained")
    for name, path in paths.items():
        ax.plot(np.arange(1, len(path) + 1), path, label=name)
    ax.axhline(-1.0, color="0.5", linestyle=":", label="the optimum")
    ax.set_xscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("x")
    ax.legend()
    figure.savefig(args.plot, dpi=100)
    print(f"figure written to {args.plot}")


if __name__ == "__main__":
    main()
