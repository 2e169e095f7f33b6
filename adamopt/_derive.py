r"""The public class and the SciPy method of a declared algorithm.

`make_class` builds ``adamopt.Adam``, ``adamopt.SGD``, ... from their
declarations (``adamopt._registry.Algorithm``) over the shared machinery
(`adamopt._optimizers._Optimizer` and the compiled `adamopt._kernels.Core`);
`make_method` builds ``adamopt.adam``, ``adamopt.sgd``, ... over the run
driver.  Both write their docstrings from the declaration, so the class,
the method, its ``Options`` section and `adamopt.show_options` never
disagree.
"""

import inspect

import numpy as np

from . import _averaging, _betas, _structure
from . import _validation as check
from ._kernels import Core
from ._method_doc import _OPTIONS_DOC, AVERAGE_DOC, CLIP_DOC
from ._optimizers import _CHECKS, _Checked, _finite_max, _Optimizer, _Scheduled
from ._registry import COMMON, Algorithm, Hyperparameter

# -- docstrings ---------------------------------------------------------------------------

_PARAMS = r"""
    params : numpy.ndarray, list, tuple, dict or list of dict
        The parameters, updated **in place** by `step`: an array of any shape, dtype
        float32 or float64, writeable and contiguous (C or Fortran order); or a
        list, tuple or dict of such arrays (dtypes may differ; a non-contiguous
        view is updated in place through a private copy, two extra passes over
        it per step); or PyTorch's parameter groups, a list of dicts
        ``{"params": <array, list or dict>, <hyperparameter>: value, ...}`` whose
        hyperparameters (any but the fixed options and ``check_finite``) override
        the constructor's for their arrays (see ``param_groups``).  `step` then
        takes the gradients in the same structure, ``None`` skipping an array.
        The state is kept, and each element computed, in each array's dtype; the
        per-step scalars (powers of the betas, bias corrections, step sizes) in
        float64."""

_FLAGS = r"""
    maximize : bool, default: False
        Ascend the objective instead (the gradient's sign is flipped inside the
        loop; ``grad`` is not copied).
    schedule : callable, optional
        A schedule multiplier :math:`\eta_t` = ``schedule(t)``: the learning rate
        used at step ``t`` is :math:`\alpha_t \eta_t` (for example
        `adamopt.CosineWarmRestarts`, the SGDR/AdamWR schedule).
    check_finite : bool, default: True
        Before each step, check that the gradient (plus the L2 term, for coupled
        weight decay) is finite{square}.  A failed check raises `ValueError` and
        leaves the parameters and the state exactly as they were.  With the
        check, a step that could carry the parameters or the state past the
        dtype's maximum (a step size too large for their magnitude) is refused
        the same way (`GradientValueError`, naming ``lr``; every algorithm but
        RMSprop).  ``False``
        skips the check (one read of the gradient) as SciPy's ``check_finite``
        does; a NaN then propagates into the parameters and the state.
""" + CLIP_DOC + AVERAGE_DOC

#: What the check of an algorithm that squares the gradient adds.
_SQUARED = (" and small enough that its square cannot overflow the state\n"
            "        (about 1.8e19 for float32 and 1.3e154 for float64)")

_NOTES = r"""
    Attributes
    ----------
    params : numpy.ndarray
        The array passed in, updated in place.
    t : int
        Number of steps taken.

    Notes
    -----
    The step counter starts at ``t = 0``; `step` first increments it, so the
    first update uses ``t = 1``.  ``state_dict()`` returns plain numbers,
    strings and NumPy arrays (the state: {state}; the hyperparameters,
    ``algorithm`` and ``t``), picklable and `numpy.savez`-able;
    ``load_state_dict`` restores them so that a resumed run continues
    bitwise identically.

    A gradient that is a C-contiguous (or, for Fortran-ordered parameters,
    Fortran-contiguous) array of the parameters' dtype is read directly; any
    other array-like of the right shape is converted first (one copy per step).
    An optimizer is not thread-safe: do not call `step` on the same optimizer
    from two threads at once.  Distinct optimizers run in parallel (the loop
    releases the GIL for large arrays).
"""


def show_default(value):
    """A default as the docs write it: ``1e-3`` rather than ``0.001``."""
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, float) and value != 0.0 and abs(value) < 0.05:
        mantissa, exponent = f"{value:e}".split("e")
        return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"
    return repr(value)


def _entry(h):
    """A hyperparameter's numpydoc entry."""
    shown = "optional" if h.default is None else f"default: {show_default(h.default)}"
    return f"\n    {h.name} : {h.type}, {shown}\n" + _indent(h.doc)


#: The entry of PyTorch's spelling ``betas`` (`adamopt._betas`), shown after ``beta2``.
_BETAS = Hyperparameter(_betas.NAME, None, _betas.DOC, _betas.TYPE)


def _documented(a):
    """The hyperparameters the docs list: the declared ones, and ``betas``
    after ``beta2`` when the algorithm has both decay rates."""
    out = []
    for h in a.hyperparameters:
        out.append(h)
        if h.name == _betas.PAIR[1] and _has_betas(a):
            out.append(_BETAS)
    return out


def betas_entry():
    """The numpydoc entry of ``betas`` (for docstrings written by hand: SWATS)."""
    return _entry(_BETAS)


def _has_betas(a):
    return _betas.applies(h.name for h in a.hyperparameters)


def _indent(text):
    return "\n".join("        " + line if line else "" for line in text.strip("\n").split("\n"))


def _state_list(a):
    names = [f"``{s.name}``" + (f" (with {s.needs})" if s.needs else "") for s in a.state]
    names += [f"``{name}`` (a float64 number)" for name in a.state_scalars]
    return ", ".join(names)


def class_doc(a: Algorithm) -> str:
    params = _PARAMS + "".join(_entry(h) for h in _documented(a))
    flags = _FLAGS.replace("{square}", _SQUARED if a.squares else "")
    notes = _NOTES.replace("{state}", _state_list(a))
    return (f"{a.summary}\n\n    {a.intro.strip()}\n" + a.equations
            + "\n    Parameters\n    ----------" + params + flags + notes + a.notes
            + a.references + a.example)


def assemble_method_doc(summary, equations, options, gtol, references, schedule_extra=""):
    """The docstring of a SciPy method: its summary, its update equations, the
    shared parameters, its own options (numpydoc entries) then the shared
    ones, what its ``gtol`` test measures, and its references."""
    doc = (_OPTIONS_DOC.replace("{options}", options.strip("\n"))
           .replace("{clip}", CLIP_DOC + AVERAGE_DOC)
           .replace("{schedule_extra}", schedule_extra).replace("{gtol}", gtol))
    return summary + equations + doc + references


def method_doc(a: Algorithm) -> str:
    options = "".join(_entry(h) for h in _documented(a))
    summary = (f"Minimize a (stochastic) objective with {a.class_name}, as a "
               f"`scipy.optimize.minimize` method.\n\n    Use it as ``minimize(fun, x0, jac=True, "
            f"method=adamopt.{a.name}, options={{...}})``\n    or call it directly with the "
            f"same arguments.  Each iteration takes one step of\n    `adamopt.{a.class_name}` "
            f"with the gradient :math:`g_t` of ``fun`` at the current iterate:\n")
    return (assemble_method_doc(summary, a.equations, options, a.gtol_doc, a.references,
                                a.schedule_extra)
            + least_squares_example(a.name, a.method_example))


def least_squares_example(name, options):
    """The Examples section of a method: a noise-free least-squares fit on minibatches."""
    return f"""
    Examples
    --------
    >>> import numpy as np
    >>> from scipy.optimize import minimize
    >>> import adamopt
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((1000, 3)); y = X @ [1.0, -2.0, 0.5]
    >>> def loss(w, Xb, yb):
    ...     r = Xb @ w - yb
    ...     return r @ r / len(yb), 2 * Xb.T @ r / len(yb)
    >>> res = minimize(loss, np.zeros(3), jac=True, method=adamopt.{name},
    ...                options={{{options}, "maxiter": 2000,
    ...                         "batches": adamopt.minibatches(X, y, batch_size=50, seed=0)}})
    >>> np.round(res.x, 2)
    array([ 1. , -2. ,  0.5])
    """


# -- the class ------------------------------------------------------------------------------


def _signature(a):
    P = inspect.Parameter
    params = [P("self", P.POSITIONAL_OR_KEYWORD), P("params", P.POSITIONAL_OR_KEYWORD)]
    params += [P(h.name, P.KEYWORD_ONLY, default=h.default) for h in a.hyperparameters]
    params += [P(name, P.KEYWORD_ONLY, default=default) for name, default
               in (("maximize", False), ("schedule", None), ("check_finite", True),
                   ("max_grad_norm", None), ("max_grad_value", None),
                   *_averaging.DEFAULTS.items())]
    return inspect.Signature(params)


def _make_init(a, signature):
    fixed_names = a.fixed()

    def __init__(self, params, **kwargs):
        values = signature.bind(self, params, **kwargs)
        values.apply_defaults()
        values = values.arguments
        owner = type(self).__name__
        structure = None
        if not isinstance(params, np.ndarray):   # a structure: built around a placeholder
            structure, params = params, _structure.placeholder(params, type(self), owner)
        params = check.params_array(params, owner)
        self._dtype = params.dtype
        fixed = {name: _CHECKS[name](values[name], name, owner) for name in fixed_names}
        self._decoupled_weight_decay = a.decoupled
        for h in a.hyperparameters:
            if not h.fixed:
                setattr(self, h.name, values[h.name])
        for name in COMMON:
            setattr(self, name, values[name])
        self._t = 0
        state = []
        for s in a.state:
            if s.needs is None or fixed[s.needs]:
                fill = getattr(self, s.fill) if s.fill else 0.0
                state.append(np.full_like(params, fill) if fill else np.zeros_like(params))
            else:
                state.append(None)
        self._bind(a.kernel, a.squares, params, state, amsgrad=fixed.get("amsgrad", False),
                   centered=fixed.get("centered", False))
        if a.validate is not None:
            a.validate(self)
        self._examine()
        if structure is not None:
            _structure.build(self, structure, values)

    __init__.__signature__ = signature
    return _betas.accepting(__init__) if _has_betas(a) else __init__


def _fixed_property(name):
    return property(lambda self: getattr(self, "_" + name),
                    doc=f"Whether ``{name}`` is used (fixed at construction).")


def _state_property(index, name):
    return property(lambda self: self._state[index], doc=f"The state array ``{name}``.")


def _smoothed_gradient(a):
    hook = a.smoothed

    def _smoothed_gradient(self, grad):
        found = None if hook is None or self._t == 0 else hook(self)
        if found is None:
            return _Optimizer._smoothed_gradient(self, grad)
        vector, scale = found
        return vector, scale, True

    _smoothed_gradient.__doc__ = f"What ``gtol`` measures: {a.gtol_doc.strip()}"
    return _smoothed_gradient


def make_class(a: Algorithm) -> type:
    """The public class of the declaration ``a``."""
    namespace = {
        "__doc__": class_doc(a), "__module__": "adamopt", "__qualname__": a.class_name,
        "__init__": _make_init(a, _signature(a)),
        "_DECLARATION": a,
        "_algorithm": a.name,
        "_SAVED_HYPERPARAMETERS": (*(h.name for h in a.hyperparameters), "maximize"),
        "_FIXED": a.fixed(),
        "_STATE_ARRAYS": {s.name: ("_" + s.name, s.rule, s.needs) for s in a.state},
        "_STATE_SCALARS": dict(a.state_scalars),
        "_ZERO_AT_START": tuple(s.name for s in a.state if s.zero_at_start),
        "_REPR_NUMBERS": a.repr_numbers,
        "_EPS_RULE": a.eps_rule,
        "_GROWING": _GUARDS[a.guard][1],
        "_examine": _examine_method(a),
        "_smoothed_gradient": _smoothed_gradient(a),
    }
    if _has_betas(a):
        namespace[_betas.NAME] = _betas.Pair()
    for index, s in enumerate(a.state):
        namespace["_" + s.name] = _state_property(index, s.name)
    for h in a.hyperparameters:
        if h.attribute is not None:
            namespace[h.name] = h.attribute
        elif h.fixed:
            namespace[h.name] = _fixed_property(h.name)
        elif not h.schedulable:
            namespace[h.name] = _Checked(h.doc.strip().split("\n")[0], h.check)
        elif h.name not in ("lr", "weight_decay"):   # (those two: _Optimizer's properties)
            namespace[h.name] = _Scheduled(h.doc.strip().split("\n")[0], h.check)
    return type(a.class_name, (_Optimizer, Core), namespace)


# -- the overflow guard's premise (``_guard`` in _loops.pxi) ---------------------------------


def _examine_bounded(index):
    """The examination of a state whose bounded array is ``opt._state[index]``:
    the largest finite |x| and the largest |value| of that array."""
    def examine(opt):
        with np.errstate(invalid="ignore"):
            opt._x_bound = _finite_max(opt._x)
            opt._s_bound = _finite_max(opt._state[index])
        opt._beyond = False
    return examine


#: Adam, AdamW, NAdam, RAdam: the first moment m.
_examine_moment = _examine_bounded(0)
#: RMSprop: the momentum buffer (its third array).
_examine_rmsprop = _examine_bounded(2)


def _examine_growing(opt, limit):
    """SGD, Adagrad: the largest finite |x|, and whether the growing state
    array (the momentum buffer, the sum of squares) is beyond ``limit``."""
    opt._x_bound = _finite_max(opt._x)
    with np.errstate(invalid="ignore"):
        opt._beyond = not bool(np.all(np.abs(opt._state[0]) <= limit))
    opt._s_limit = limit


def _examine_sgd(opt):
    lr = opt._lr if opt._lr_fn is None else 1.0
    _examine_growing(opt, float(np.finfo(opt._x.dtype).max) / (8192 * max(1.0, lr)))


def _examine_adagrad(opt):
    _examine_growing(opt, float(np.finfo(opt._x.dtype).max) / 4)


def _examine_adamax(opt):
    """Adamax: the largest |m| and |m| / u (``_adamax_bound``)."""
    m, u = opt._state[0], opt._state[1]
    opt._x_bound = _finite_max(opt._x)
    opt._s_bound = _finite_max(m)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(m == 0, 0.0, np.abs(m) / u)
    opt._r_bound = float(ratio.max()) if ratio.size else 0.0
    opt._beyond = not opt._s_bound <= float(np.finfo(opt._x.dtype).max) / 4


#: The examination of each kind of guard (a declaration's ``guard``), and the
#: state array its error message names.
_GUARDS = {"moment": (_examine_moment, "first moment"), "sgd": (_examine_sgd, "momentum buffer"),
           "adagrad": (_examine_adagrad, "sum of squares"),
           "adamax": (_examine_adamax, "first moment"),
           "rmsprop": (_examine_rmsprop, "momentum buffer")}


def _examine_method(a):
    examine = _GUARDS[a.guard][0]

    def _examine(self):
        """Set the premise of the overflow guard from the arrays as they are
        now (one pass, at construction and ``load_state_dict``; not per step)."""
        examine(self)

    return _examine


# -- the SciPy method ------------------------------------------------------------------------


def make_method(a: Algorithm, cls: type):
    """The SciPy method of the declaration ``a``, driving ``cls``."""
    from ._minimize import _minimize

    def method(fun, x0, args=(), jac=None, callback=None, *, hess=None, hessp=None,
               bounds=None, constraints=(), **options):
        return _minimize(cls, a.name, fun, x0, args, jac, callback, hess, hessp, bounds,
                         constraints, options)

    method.__name__ = method.__qualname__ = a.name
    method.__module__ = "adamopt"
    method.__doc__ = method_doc(a)
    return method
