"""Adam versus AMSGrad on Reddi, Kale & Kumar's (2018) online problem.

The loss at step t is f_t(x) = C x when t mod 3 == 1 and -x otherwise, on the
interval [-1, 1], with C > 2.  Every three steps the losses add up to
(C - 2) x, so the best point is x = -1.  With beta1 = 0 and
beta2 = 1 / (1 + C^2), Adam's second moment forgets the rare large gradient C
so quickly that the two small steps towards +1 outweigh the large step towards
-1: Adam ends at +1, the worst point.  AMSGrad divides by the largest second
moment seen so far, and goes to -1.

Run: python examples/amsgrad_counterexample.py
Reference: S. J. Reddi, S. Kale and S. Kumar, "On the Convergence of Adam and
Beyond", ICLR 2018, arXiv:1904.09237, section 3.
"""

import itertools
import math

import numpy as np
from scipy.optimize import minimize

import adamopt

C = 3.0


def linear(x, c):
    """The loss revealed at this step, c x, and its gradient."""
    return c * x[0], np.array([c])


def main():
    print(f"f_t(x) = {C:g} x if t mod 3 == 1 else -x, on [-1, 1]; the optimum is x = -1")
    for amsgrad in (False, True):
        res = minimize(linear, np.zeros(1), jac=True, method=adamopt.adam,
                       bounds=[(-1, 1)],
                       options={"lr": lambda t: 0.5 / math.sqrt(t), "beta1": 0.0,
                                "beta2": 1 / (1 + C**2), "amsgrad": amsgrad,
                                "maxiter": 3000, "gtol": 0,
                                "batches": itertools.cycle([C, -1.0, -1.0])})
        name = "AMSGrad" if amsgrad else "Adam   "
        print(f"{name}  x after {res.nit} steps = {res.x[0]:+.4f}   "
              f"average loss per step = {(C - 2) * res.x[0] / 3:+.4f}")


if __name__ == "__main__":
    main()
