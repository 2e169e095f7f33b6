r"""Schedule-free AdamW and SGD (Defazio et al. 2024), as ``schedulefree`` defines them."""

import math

import numpy as np

from .. import _validation as check
from .._registry import Algorithm, Hyperparameter, ScalarState, StateArray, register
from ._common import eps, lr


def _open_unit(value, name, owner):
    """A real number in (0, 1): x is recovered from y and z by dividing by it."""
    x = check.real(value, name, owner)
    if not 0.0 < x < 1.0:
        raise ValueError(
            f"The {name!r} parameter of {owner} must be in (0, 1) (the averaged point x is "
            f"recovered from y = {name} * x + (1 - {name}) * z). Got {check.show(value)} "
            f"instead.")
    return x


def _warmup(value, name, owner):
    return check.integer(check._unwrap(value), name, owner, 0, 2**53)


def _finite(value, name, owner):
    x = check.real(value, name, owner)
    if not math.isfinite(x):
        raise ValueError(f"The {name!r} parameter of {owner} must be a finite number. "
                         f"Got {check.show(value)} instead.")
    return x


def _scalar_rule(name):
    def rule(value, t, where):
        """A finite number >= 0, and 0 at t = 0 (the state before the first step)."""
        x = check.real(value, name, where)
        if not (math.isfinite(x) and x >= 0.0) or (t == 0 and x != 0.0):
            raise ValueError(f"{where} must be a finite number >= 0 (0 at t = 0). Got "
                             f"{check.show(value)} at t={t} instead.")
        return x
    rule.__name__ = f"_{name}_rule"
    return rule


_SCALARS = (ScalarState("lr_max", 0.0, _scalar_rule("lr_max"),
                        "the largest learning rate used so far, a float64 number"),
            ScalarState("weight_sum", 0.0, _scalar_rule("weight_sum"),
                        "the sum of the averaging weights, a float64 number"))


def _hyperparameters(momentum):
    return (
        Hyperparameter("weight_decay", 0.0,
                       r"""Weight decay :math:`\lambda \ge 0`, evaluated at :math:`y` (as the
reference package does): """ + ("added to the gradient, :math:`g + \\lambda y`."
                                if momentum == "momentum" else
                                r"""added to the normalized step,
:math:`z \leftarrow z - \gamma_t (g / (\sqrt{\hat v_t} + \epsilon) + \lambda y)`.""")),
        Hyperparameter("warmup_steps", 0,
                       r"""Linear warm-up: :math:`\gamma_t = \alpha_t \min(1, t / T_w)` for
``warmup_steps`` :math:`T_w` (0: none).""", "int", check=_warmup),
        Hyperparameter("r", 0.0,
                       r"""Polynomial weighting of the average: the weight of step :math:`t` is
:math:`t^r \gamma_{\max,t}^{p}` (0: uniform).""", check=_finite),
        Hyperparameter("weight_lr_power", 2.0,
                       r"""The power :math:`p` of the largest learning rate so far,
:math:`\gamma_{\max,t}`, in the weights (so the warm-up's small steps weigh little;
0: no weighting).""", check=check.finite_at_least),
    )


def _recover(beta):
    """x = (y - (1 - beta) z) / beta, in float64 rounded once; y before any step."""
    def averaged(opt):
        y = opt._x
        if opt._t == 0:
            return y.copy(order="K")
        b = float(getattr(opt, beta))
        z = opt._state[0].astype(np.float64)
        return ((y.astype(np.float64) - (1.0 - b) * z) / b).astype(y.dtype, order="K")
    return averaged


_SEQUENCES = r"""
        \gamma_t &= \alpha_t \min(1, t / T_w), \qquad
            \gamma_{\max,t} = \max(\gamma_{\max,t-1}, \gamma_t) \\
        w_t &= t^r \gamma_{\max,t}^{p}, \qquad W_t = W_{t-1} + w_t, \qquad
            c_t = w_t / W_t \\"""

_AVERAGE = r"""
        x_t &= (1 - c_t) x_{t-1} + c_t z_t \\
        y_t &= \beta x_t + (1 - \beta) z_t
"""

_NOTES = r"""
    The parameters array holds :math:`y`, where the next gradient is taken
    (PyTorch's ``train()`` mode); ``opt.averaged`` gives :math:`x`, where the
    method converges (what ``eval()`` would load), without a mode to switch.
    The state is :math:`z`{v}: :math:`x` is not stored but recovered, when
    asked for, from :math:`y = \beta x + (1 - \beta) z` (so :math:`\beta`
    must be in (0, 1), and changing it during a run changes the recovered
    :math:`x`).  The step eliminates :math:`x`:
    :math:`y_t = (1 - c_t) y_{{t-1}} + c_t z_{{t-1}} + \gamma_t (\beta (1 - c_t) - 1) u_t`
    with :math:`u_t` the step direction (the memory-efficient form of the
    reference package), one pass over {streams} arrays.  The scalar state
    :math:`\gamma_{{\max}}` (``lr_max``) and :math:`W` (``weight_sum``) is kept
    in float64.  ``schedule`` and a callable ``lr`` multiply :math:`\alpha_t`
    before the warm-up, as a schedule of the reference's ``lr`` would.

    With the SciPy method the objective is evaluated at :math:`y`; ``res.x``
    is :math:`x` (``res.x_last``: the last :math:`y`; resume a run from it).

    **Differences from the paper.**  None in the algorithm: Algorithm 1 of
    Defazio et al. (2024) with the reference package's options (the paper's
    choice is ``r=0``, ``weight_lr_power=2``, the defaults), weight decay
    evaluated at :math:`y` as there, and the bias correction of :math:`v`
    folded into two scalars as Adam's loop does.  The package's
    ``decay_at_z`` option (AdamW) is not offered.
"""

_REFERENCES = r"""
    References
    ----------
    .. [1] A. Defazio, X. A. Yang, H. Mehta, K. Mishchenko, A. Khaled and
       A. Cutkosky, "The Road Less Scheduled", NeurIPS 2024, arXiv:2405.15682.
    .. [2] The reference implementation: the ``schedulefree`` package,
       https://github.com/facebookresearch/schedule_free.
"""

_GTOL = r"""the gradient at :math:`y`, where the objective is
        evaluated (schedule-free keeps no average of the gradient).  Without
        ``batches``, a gradient at :math:`y` below ``gtol`` is confirmed at
        the returned :math:`x` (one more evaluation), so ``success`` means the
        gradient at ``res.x`` is below ``gtol``; with minibatches it is one
        noisy sample at :math:`y` (use ``maxiter`` or the plateau test)."""


def _example(cls, options, steps, tol):
    return rf"""
    Examples
    --------
    >>> import numpy as np
    >>> import adamopt
    >>> y = np.array([1.0, -2.0])
    >>> opt = adamopt.{cls}(y, {options})
    >>> for _ in range({steps}):
    ...     _ = opt.step(2 * y)          # gradient of sum(y**2), at y
    >>> bool(np.all(np.abs(opt.averaged) < {tol}))   # x, the averaged point
    True
    """


SCHEDULEFREE_ADAMW = register(Algorithm(
    name="schedulefree_adamw", class_name="ScheduleFreeAdamW", kernel="schedulefree_adamw",
    hyperparameters=(
        lr(2.5e-3),
        Hyperparameter("beta1", 0.9, r"""Interpolation :math:`\beta \in (0, 1)` between the
average :math:`x` and :math:`z` at which the gradient is taken (the momentum).""",
                       check=_open_unit),
        Hyperparameter("beta2", 0.999,
                       r"Decay rate :math:`\beta_2 \in [0, 1)` of the second moment."),
        eps(1e-8, r":math:`\sqrt{\hat v_t}`", r" once scaled by :math:`\sqrt{1-\beta_2^t}`"),
        *_hyperparameters("beta1")),
    state=(StateArray("z", "finite", fill="params"),
           StateArray("v", "nonnegative", zero_at_start=True)),
    squares=True, scalars=_SCALARS, decoupled=True, averaged=_recover("beta1"),
    tuning_free=True,
    summary="Schedule-free AdamW (Defazio et al. 2024): no learning-rate schedule, in place.",
    intro=r"""Each call ``opt.step(grad)`` performs, with the gradient :math:`g_t` of the
    objective at :math:`y_{t-1}` (negated if maximize), the steps of the reference
    ``schedulefree.AdamWScheduleFreeReference``:""",
    equations=r"""
    .. math::
""" + _SEQUENCES + r"""
        v_t &= \beta_2 v_{t-1} + (1 - \beta_2) g_t^2, \qquad
            \hat v_t = v_t / (1 - \beta_2^t) \\
        z_t &= z_{t-1} - \gamma_t \left( g_t / (\sqrt{\hat v_t} + \epsilon)
            + \lambda y_{t-1} \right) \\""" + _AVERAGE,
    notes=_NOTES.replace("{v}", r" and the second moment :math:`v`")
                .replace("{streams}", "seven (Adam's)"),
    references=_REFERENCES,
    example=_example("ScheduleFreeAdamW", "lr=0.05", 500, "0.05"),
    method_example='"lr": 0.1',
    gtol_doc=_GTOL, smoothed=None,
    oracle="schedulefree_adamw", torch=None,
    table=("Schedule-free AdamW (Defazio et al. 2024)",
           "`schedulefree.AdamWScheduleFree` (not torch.optim)",
           "the reference package's (warm-up, `r`, `weight_lr_power`, decay at y); "
           "`params` holds y, `opt.averaged` is x", "the gradient at y"),
    guard="schedulefree", position=20, quadratic_lr=0.05, arrays_per_element=7,
    combinations=(dict(warmup_steps=5), dict(r=1.0, weight_lr_power=0.0),
                  dict(weight_decay=0.1, maximize=True), dict(beta1=0.5, beta2=0.9, eps=1e-6),
                  dict(warmup_steps=3, r=0.5, weight_lr_power=1.0, weight_decay=0.05)),
    bad_options=(("beta1", 0.0, ValueError), ("beta1", 1.0, ValueError),
                 ("beta2", 1.0, ValueError), ("eps", 0.0, ValueError),
                 ("warmup_steps", -1, ValueError), ("warmup_steps", 2.5, TypeError),
                 ("r", float("nan"), ValueError), ("weight_lr_power", -1.0, ValueError),
                 ("weight_decay", -0.1, ValueError)),
    repr_numbers=("beta1", "beta2", "eps", "weight_decay"),
    eps_rule="stay positive when scaled by sqrt(1 - beta2**t) and rounded to",
))


SCHEDULEFREE_SGD = register(Algorithm(
    name="schedulefree_sgd", class_name="ScheduleFreeSGD", kernel="schedulefree_sgd",
    hyperparameters=(
        lr(1.0),
        Hyperparameter("momentum", 0.9, r"""Interpolation :math:`\beta \in (0, 1)` between the
average :math:`x` and :math:`z` at which the gradient is taken.""", check=_open_unit),
        *_hyperparameters("momentum")),
    state=(StateArray("z", "finite", fill="params"),),
    squares=False, scalars=_SCALARS, averaged=_recover("momentum"), tuning_free=True,
    summary="Schedule-free SGD (Defazio et al. 2024): no learning-rate schedule, in place.",
    intro=r"""Each call ``opt.step(grad)`` performs, with the gradient :math:`g_t` of the
    objective at :math:`y_{t-1}` (negated if maximize), the steps of the reference
    ``schedulefree.SGDScheduleFreeReference``:""",
    equations=r"""
    .. math::
""" + _SEQUENCES + r"""
        z_t &= z_{t-1} - \gamma_t (g_t + \lambda y_{t-1}) \\""" + _AVERAGE,
    notes=_NOTES.replace("{v}", "").replace("{streams}", "five"),
    references=_REFERENCES,
    example=_example("ScheduleFreeSGD", "lr=0.1", 300, "0.05"),
    method_example='"lr": 0.1',
    gtol_doc=_GTOL, smoothed=None,
    oracle="schedulefree_sgd", torch=None,
    table=("Schedule-free SGD (Defazio et al. 2024)",
           "`schedulefree.SGDScheduleFree` (not torch.optim)",
           "the reference package's (warm-up, `r`, `weight_lr_power`, L2 at y); "
           "`params` holds y, `opt.averaged` is x", "the gradient at y"),
    guard="schedulefree", position=21, quadratic_lr=0.05, arrays_per_element=5,
    combinations=(dict(warmup_steps=5), dict(r=1.0, weight_lr_power=0.0),
                  dict(weight_decay=0.1, maximize=True), dict(momentum=0.5),
                  dict(warmup_steps=3, r=0.5, weight_lr_power=1.0, weight_decay=0.05)),
    bad_options=(("momentum", 0.0, ValueError), ("momentum", 1.0, ValueError),
                 ("warmup_steps", -1, ValueError), ("warmup_steps", "3", TypeError),
                 ("r", float("inf"), ValueError), ("weight_lr_power", -1.0, ValueError),
                 ("weight_decay", -0.1, ValueError)),
    repr_numbers=("momentum", "weight_decay"),
))
