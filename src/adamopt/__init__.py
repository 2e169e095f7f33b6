"""adamopt: compiled Adam and AdamW optimizers for NumPy arrays.

Public API
----------
Adam
    Adam (Kingma & Ba 2014) with optional coupled L2 weight decay and AMSGrad.
AdamW
    Adam with decoupled weight decay (Loshchilov & Hutter 2019).

adam, adamw
    The same algorithms as `scipy.optimize.minimize` methods for (stochastic)
    objectives: ``minimize(fun, x0, jac=True, method=adamopt.adam, options=...)``.
minibatches
    An endless, reproducible stream of aligned minibatches for ``batches=``
    (NumPy arrays, or Dask arrays on a cluster).
dask_objective
    A data-parallel objective over Dask arrays: a NumPy ``loss_and_grad`` on
    each chunk, summed on the workers (``pip install 'adamopt[dask]'``).
plot_history
    Convergence curves of runs made with the ``history`` option (matplotlib).
show_options
    The options of the methods, like `scipy.optimize.show_options`.

The classes update a NumPy array in place with one compiled, fused pass per step::

    import numpy as np
    import adamopt

    x = np.zeros(1000)
    opt = adamopt.AdamW(x, lr=1e-2)
    for _ in range(100):
        opt.step(gradient(x))   # x is updated in place
"""

from ._batches import minibatches
from ._dask_objective import dask_objective
from ._minimize import adam, adamw
from ._optimizers import Adam, AdamW
from ._options import show_options
from ._parallel import set_num_threads
from ._plot import plot_history

__all__ = ["Adam", "AdamW", "__version__", "adam", "adamw", "dask_objective", "minibatches",
           "plot_history", "set_num_threads", "show_options"]

__version__ = "0.1.0.dev0"
