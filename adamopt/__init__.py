# ruff: noqa: F401  (the public names are exported through the computed __all__)
"""adamopt: compiled Adam and AdamW optimizers for NumPy arrays.

Public API
----------
Adam
    Adam (Kingma & Ba 2014) with optional coupled L2 weight decay and AMSGrad.
AdamW
    Adam with decoupled weight decay (Loshchilov & Hutter 2019).
SGD, Adagrad, RMSprop, Adamax, NAdam
    Adam's family, with PyTorch's names, defaults and arithmetic: SGD with
    momentum and Nesterov's form, Adagrad (Duchi et al. 2011), RMSprop
    (Tieleman & Hinton 2012), Adamax (Kingma & Ba 2014, section 7.1) and NAdam
    (Dozat 2016).

adam, adamw, sgd, adagrad, rmsprop, adamax, nadam
    The same algorithms as `scipy.optimize.minimize` methods for (stochastic)
    objectives: ``minimize(fun, x0, jac=True, method=adamopt.adam, options=...)``.
minibatches
    An endless, reproducible stream of aligned minibatches for ``batches=``
    (NumPy arrays, or Dask arrays on a cluster).
MinibatchStream, DaskMinibatchStream
    The streams `minibatches` returns (for NumPy and for Dask arrays).
dask_objective
    A data-parallel objective over Dask arrays: a NumPy ``loss_and_grad`` on
    each chunk, summed on the workers (``pip install 'adamopt[dask]'``).
ravel
    A dict or list of arrays as one flat vector for ``minimize``, and back (views).
plot_history
    Convergence curves of runs made with the ``history`` option (matplotlib).
show_options
    The options of the methods, like `scipy.optimize.show_options`.
Constant, CosineAnnealing, CosineWarmRestarts, LinearWarmup, StepDecay, Join, Schedule
    Learning-rate schedules for ``lr=`` or ``schedule=`` (composable: ``a * b``, `Join`).
MultiStepDecay, ExponentialDecay, PolynomialDecay, OneCycle, OneCycleMomentum
    The decay schedules of ``torch.optim.lr_scheduler`` (one-cycle with its
    momentum cycle, for ``beta1=`` or ``momentum=``).
ReduceOnPlateau
    PyTorch's ``ReduceLROnPlateau`` as a schedule: reports by ``sched.step(loss)`` in
    a class loop; a SciPy method reports its smoothed objective itself.
NormalizedWeightDecay
    The normalized weight decay of Loshchilov & Hutter, for ``weight_decay=`` of AdamW.
InterruptedWarning
    Warned when Ctrl-C ended a run of a SciPy method, which returned the result
    so far (the ``interrupt`` option).
SWATS, swats
    Adam, then SGD with momentum once Adam's step size has settled (Keskar & Socher 2017).

The classes update a NumPy array in place with one compiled, fused pass per step::

    import numpy as np
    import adamopt

    x = np.zeros(1000)
    opt = adamopt.AdamW(x, lr=1e-2)
    for _ in range(100):
        opt.step(gradient(x))   # x is updated in place
"""

try:
    from . import _kernels
except ImportError as error:  # pragma: no cover - only in an unbuilt source tree
    raise ImportError(
        "adamopt's compiled modules are missing from "
        f"{__path__[0]}: this is a source tree that was not built. Install it "
        "with 'pip install -e .' (compiles the extensions in place) or "
        "'pip install .' and import it from outside the clone."
    ) from error

from ._batches import MinibatchStream, minibatches
from ._catalog import public_names as _public_names
from ._dask_batches import DaskMinibatchStream
from ._dask_objective import dask_objective
from ._interrupt import InterruptedWarning
from ._options import show_options
from ._parallel import set_num_threads
from ._plateau import ReduceOnPlateau
from ._plot import plot_history
from ._ravel import ravel
from ._schedules import (
    Constant,
    CosineAnnealing,
    CosineWarmRestarts,
    Join,
    LinearWarmup,
    NormalizedWeightDecay,
    Schedule,
    StepDecay,
)
from ._schedules_decay import (
    ExponentialDecay,
    MultiStepDecay,
    OneCycle,
    OneCycleMomentum,
    PolynomialDecay,
)
from ._swats import SWATS, swats
from ._version import __version__

#: The classes and SciPy methods of the declared algorithms (``adamopt._algorithms``).
globals().update(_public_names())

__all__ = sorted([
    "SWATS",
    "Constant",
    "CosineAnnealing",
    "CosineWarmRestarts",
    "DaskMinibatchStream",
    "ExponentialDecay",
    "InterruptedWarning",
    "Join",
    "LinearWarmup",
    "MinibatchStream",
    "MultiStepDecay",
    "NormalizedWeightDecay",
    "OneCycle",
    "OneCycleMomentum",
    "PolynomialDecay",
    "ReduceOnPlateau",
    "Schedule",
    "StepDecay",
    "__version__",
    "dask_objective",
    "minibatches",
    "plot_history",
    "ravel",
    "set_num_threads",
    "show_options",
    "swats",
    *_public_names(),
])
