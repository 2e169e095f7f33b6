"""adamopt: compiled Adam and AdamW optimizers for NumPy arrays.

Public API
----------
Adam
    Adam (Kingma & Ba 2014) with optional coupled L2 weight decay and AMSGrad.
AdamW
    Adam with decoupled weight decay (Loshchilov & Hutter 2019).

Both update a NumPy array in place with one compiled, fused pass per step::

    import numpy as np
    import adamopt

    x = np.zeros(1000)
    opt = adamopt.AdamW(x, lr=1e-2)
    for _ in range(100):
        opt.step(gradient(x))   # x is updated in place
"""

from ._optimizers import Adam, AdamW

__all__ = ["Adam", "AdamW", "__version__"]

__version__ = "0.1.0.dev0"
