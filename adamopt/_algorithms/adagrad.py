r"""Adagrad (Duchi, Hazan & Singer 2011), PyTorch's form."""

from .._registry import Algorithm, Hyperparameter, StateArray, Torch, register
from ._common import GTOL_GRADIENT, SIGN_AND_L2, WEIGHT_DECAY, eps, lr, quadratic_example

ADAGRAD = register(Algorithm(
    name="adagrad", class_name="Adagrad", kernel="adagrad",
    hyperparameters=(
        lr(1e-2),
        Hyperparameter("lr_decay", 0.0,
            r""":math:`\delta \ge 0`: the learning rate of step t is divided by
:math:`1 + (t-1)\delta`."""),
        WEIGHT_DECAY,
        Hyperparameter("initial_accumulator_value", 0.0,
                       r":math:`s_0 \ge 0`, the starting value of the sum of squares."),
        eps(1e-10, r":math:`\sqrt{s_t}`")),
    state=(StateArray("sum", "nonnegative", fill="initial_accumulator_value"),), squares=True,
    summary="Adagrad: steps scaled by the root of the sum of squared gradients, in place.",
    intro=r"""Each call ``opt.step(grad)`` performs, with the gradient :math:`g_t` of the
    objective at :math:`x_{t-1}`, exactly the steps of ``torch.optim.Adagrad``:""",
    equations=SIGN_AND_L2 + r"""
        \tilde\alpha_t &= \alpha_t / (1 + (t - 1) \delta) \\
        s_t &= s_{t-1} + g_t^2, \qquad s_0 = \text{initial\_accumulator\_value} \\
        x_t &= x_{t-1} - \tilde\alpha_t \, g_t / (\sqrt{s_t} + \epsilon)
""",
    notes=r"""
    The sum only grows: once very many very large gradients carry it past a
    quarter of the dtype's largest number, further steps are refused (the
    overflow guard, with ``check_finite``), so it never overflows to infinity.

    **Differences from the paper.**  The diagonal Adagrad of Duchi, Hazan and
    Singer (2011) steps by :math:`\eta\, g_t / (\delta + \sqrt{s_t})`: the same
    placement of the small constant, outside the root.  ``lr_decay`` is
    PyTorch's addition (not in the paper); ``initial_accumulator_value``
    defaults to 0 as in PyTorch (TensorFlow's Adagrad defaults to 0.1).
""",
    references=r"""
    References
    ----------
    .. [1] J. Duchi, E. Hazan and Y. Singer, "Adaptive Subgradient Methods for
       Online Learning and Stochastic Optimization", JMLR 12, 2011.
""",
    example=quadratic_example("Adagrad", "lr=0.5", 200, "1e-3"),
    method_example='"lr": 0.5',
    gtol_doc=GTOL_GRADIENT, smoothed=None,
    oracle="adagrad", torch=Torch("Adagrad", implementations=("single", "foreach", "fused")),
    table=("Adagrad (Duchi et al. 2011)", "`torch.optim.Adagrad`",
           "same eps placement (outside the root); `lr_decay` is PyTorch's; TensorFlow starts "
           "the sum at 0.1", "the gradient at x"),
    guard="adagrad", position=3, quadratic_lr=0.5, arrays_per_element=5,
    combinations=(dict(lr_decay=0.01, weight_decay=0.1), dict(initial_accumulator_value=0.5),
                  dict(maximize=True, eps=1e-6)),
    bad_options=(("lr_decay", -1.0, ValueError), ("initial_accumulator_value", -0.1, ValueError),
                 ("initial_accumulator_value", float("inf"), ValueError),
                 ("eps", 0.0, ValueError), ("eps", None, TypeError)),
    repr_numbers=("lr_decay", "eps", "weight_decay"),
))
