r"""The algorithm registry: one `Algorithm` declaration per algorithm.

A declaration holds everything that is specific to an algorithm: its name,
its hyperparameters (default, check, doc), its state arrays and their initial
values, its update equations and references (docstring text), its compiled
kernel, what the ``gtol`` test of its SciPy method measures, its NumPy oracle
(in ``adamopt._reference``) and its PyTorch counterpart.  Everything else is
derived from the declarations and written nowhere else: the public class and
the SciPy method (``adamopt._derive``), their docstrings and
`adamopt.show_options`, the checkpoint state names, the README's algorithm
table (``adamopt._tables``), the benchmarks' parameters and the
parametrisation of the test suites (``tests/test_registry_*.py``).

The declarations live in the modules of ``adamopt._algorithms``, one per
algorithm (or a pair of close relatives), each calling `register`; that
package imports all of its modules, so adding an algorithm is adding its
module (its declaration), its loop in ``_loops.pxi``, its oracle in
``_reference.py`` and its line of the README table.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: The options every class and method has besides its declared hyperparameters.
COMMON = ("maximize", "schedule", "check_finite", "max_grad_norm", "max_grad_value",
          "average", "average_decay", "average_start")

#: The options that may be a callable ``t -> value`` (``schedule`` and every
#: hyperparameter some declaration marks ``schedulable``; a test checks the
#: declarations against it): the SciPy runs keep them in ``state`` and in
#: checkpoints when they are adamopt's own schedules.
CALLABLE = ("lr", "schedule", "weight_decay", "beta1", "momentum")


@dataclass(frozen=True)
class Hyperparameter:
    """One hyperparameter of an algorithm.

    ``check(value, name, owner)`` returns the value to keep or raises the
    project's `ValueError`/`TypeError`; None takes the shared rule of that
    name (``adamopt._optimizers._CHECKS``).  ``doc`` is its numpydoc
    description (the class's Parameters and the method's Options);
    ``type`` its numpydoc type.  ``fixed`` options are chosen at
    construction (they decide which state arrays exist) and saved with the
    state; ``schedulable`` ones may also be a callable ``t -> value``
    (``lr``; ``weight_decay`` where the algorithm supports it; ``beta1`` and
    ``momentum``, for PyTorch's one-cycle momentum cycling; each listed in
    `CALLABLE`).
    ``attribute``, when given, is the descriptor the class uses instead of a
    checked slot (e.g. AdamW's ``decay_scaling``).
    """

    name: str
    default: Any
    doc: str
    type: str = "float"
    check: Callable | None = None
    fixed: bool = False
    schedulable: bool = False
    attribute: Any = None


@dataclass(frozen=True)
class StateArray:
    """One state array, shaped like the parameters and of their dtype.

    ``rule`` is what a loaded state must satisfy ("finite" or
    "nonnegative"); the array exists only when the fixed option ``needs`` is
    true (None: always); it starts at the value of the hyperparameter
    ``fill`` (None: zero); ``zero_at_start`` means a state with ``t = 0``
    must have it zero (the first step relies on it).
    """

    name: str
    rule: str = "finite"
    needs: str | None = None
    fill: str | None = None
    zero_at_start: bool = False


@dataclass(frozen=True)
class Torch:
    """The PyTorch counterpart: ``torch.optim.<name>``, our option names in
    its spelling (``beta1``/``beta2`` become ``betas``), the options it
    needs besides (``fixed``), and its implementations (``"single"``,
    ``"foreach"``, ``"fused"``)."""

    name: str
    fixed: Mapping[str, Any] = field(default_factory=dict)
    implementations: tuple = ("single", "foreach")
    #: Our options PyTorch does not have (tests then leave them at their default).
    missing: tuple = ()

    def kwargs(self, options):
        """Our options in PyTorch's spelling."""
        out = {k: v for k, v in options.items() if k not in self.missing}
        if "beta1" in out or "beta2" in out:
            out["betas"] = (out.pop("beta1", 0.9), out.pop("beta2", 0.999))
        out.update(self.fixed)
        return out


@dataclass(frozen=True)
class Algorithm:
    """The declaration of one algorithm (see the module docstring)."""

    #: The SciPy method's name and the ``algorithm`` of its state dicts.
    name: str
    #: The public class's name.
    class_name: str
    #: The kernel id's name in ``_loops.pxi`` (``KERNELS``).
    kernel: str
    hyperparameters: tuple
    state: tuple
    #: Whether the loop squares the gradient (the check's overflow limit).
    squares: bool
    #: Docstring text: the one-line summary, the sentence that introduces the
    #: equations, the ``.. math::`` block, the notes and differences from the
    #: papers, the numpydoc References section and the class's Examples.
    summary: str
    intro: str
    equations: str
    notes: str
    references: str
    example: str
    #: The options of the method's Examples (a least-squares fit).
    method_example: str
    #: What ``gtol`` measures (method docs), and the hook that gives it:
    #: ``smoothed(opt) -> (vector, scale)`` or None for the gradient itself.
    gtol_doc: str
    smoothed: Callable | None
    #: The NumPy oracle: the name of its function in ``adamopt._reference`` (the
    #: signature shared by all oracles, see the end of that module).
    oracle: str
    #: The PyTorch counterpart, or None.
    torch: Torch | None
    #: The README table's row: the algorithm and paper, the PyTorch match,
    #: the differences from the paper, what gtol tests (short).
    table: tuple
    #: Position in listings (the README table, ``adamopt.__all__``'s docs).
    position: float
    #: What the tests and benchmarks use: option combinations to run (each
    #: a dict of non-default options), a learning rate that converges on
    #: sum(x**2) from a few units in 3000 steps, the options timed by
    #: ``python -m adamopt bench --algorithm NAME`` and asv.
    combinations: tuple = ()
    quadratic_lr: float = 0.05
    bench_options: Mapping[str, Any] = field(default_factory=dict)
    #: Arrays a step reads or writes per element with ``bench_options``
    #: (the probe's scale: x and g and each state array touched).
    arrays_per_element: int = 7
    #: Bad constructor values of its own options: (name, value, exception).
    bad_options: tuple = ()
    #: Scalars of the state besides ``t``: name -> check(value, t, where).
    state_scalars: Mapping[str, Callable] = field(default_factory=dict)
    #: Hyperparameters the repr always shows after ``lr``.
    repr_numbers: tuple = ()
    #: What a usable ``eps`` must do each step (its error message).
    eps_rule: str = "stay positive when rounded to"
    #: The decay acts on the parameters directly (AdamW): fixed, not an option.
    decoupled: bool = False
    #: A check of the hyperparameters together, run at construction:
    #: ``validate(opt)`` raises `ValueError`.
    validate: Callable | None = None
    #: The overflow guard's kind (``_guard`` in _loops.pxi and the examination
    #: of a new or loaded state in ``adamopt._derive``): "moment", "sgd",
    #: "adagrad", "adamax" or "rmsprop".  Every algorithm has one (the
    #: compiled step refuses every step of a kernel without a guard).
    guard: str = ""
    #: Text added to the method's ``schedule`` option (AdamW's decay_scaling).
    schedule_extra: str = ""

    def hyperparameter(self, name):
        for h in self.hyperparameters:
            if h.name == name:
                return h
        raise KeyError(name)

    def defaults(self):
        """Every constructor option's default, the common ones included."""
        out = {h.name: h.default for h in self.hyperparameters}
        out.update(maximize=False, schedule=None, check_finite=True, max_grad_norm=None,
                   max_grad_value=None)
        return out

    def fixed(self):
        return tuple(h.name for h in self.hyperparameters if h.fixed)

    def state_names(self, options=None):
        """The state arrays (state_dict keys) that exist with ``options``."""
        options = {**self.defaults(), **(options or {})}
        return tuple(s.name for s in self.state if s.needs is None or options[s.needs])


_REGISTRY: dict[str, Algorithm] = {}


def register(algorithm: Algorithm) -> Algorithm:
    """Add a declaration (once per name)."""
    if algorithm.name in _REGISTRY:
        raise ValueError(f"algorithm {algorithm.name!r} is declared twice")
    if not algorithm.guard:
        raise ValueError(f"algorithm {algorithm.name!r} declares no overflow guard ('guard')")
    _REGISTRY[algorithm.name] = algorithm
    return algorithm


def algorithms() -> list[Algorithm]:
    """Every declaration, in listing order."""
    from . import _algorithms  # noqa: F401  (imports every declaration module)
    return sorted(_REGISTRY.values(), key=lambda a: (a.position, a.name))


def get(name: str) -> Algorithm:
    algorithms()
    return _REGISTRY[name]
