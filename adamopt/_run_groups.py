r"""The SciPy methods' ``groups`` option: PyTorch's parameter groups over parts of ``x``.

``groups=[{"params": unravel.slices["b"], "weight_decay": 0.0}, ...]``: each
group names part of ``x`` (a slice, a list of slices, a boolean mask or an
integer index array) and the hyperparameters it sets; the rest of ``x`` is
the default group, with the run's options.  `parse` checks the option
against ``x`` and the method's algorithm before anything runs; `optimizer`
builds the run's optimizer: the class's own parameter groups (one compiled
call per step for all of them) over contiguous views of ``x`` (a slice is one
view, a mask or index array becomes its runs of consecutive elements),
wrapped in `Parts`, which the run driver steps, saves and tests as it does a
one-array optimizer: its state dict has the one-array layout (each state
array as long as ``x``), so results' ``state``, checkpoint files and the
``gtol`` test work unchanged.
"""

import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from . import _validation as check

#: The option, with its default (merged into the methods' run options).
DEFAULTS = {"groups": None}

#: Group keys of the classes' parameter groups that a run sets for the whole
#: of ``x``: one objective is minimized (or maximized) as a whole.
_RUN_WIDE = ("maximize",)

#: The clipping options (saved with the state when set, as a one-array state saves them).
_CLIP = ("max_grad_norm", "max_grad_value")


@dataclass
class Part:
    """One group of the option: the runs ``(start, stop)`` of ``x`` it holds,
    in increasing order, and the hyperparameters it sets (checked); the
    default group has ``index`` None."""

    runs: list
    options: dict = field(default_factory=dict)
    index: int | None = None

    @property
    def size(self):
        return sum(b - a for a, b in self.runs)


def _fail(owner, text, exc=ValueError):
    return exc(f"The 'groups' option of {owner} {text}")


def _runs(indices):
    """The runs ``(start, stop)`` of consecutive elements of sorted unique ``indices``."""
    if indices.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(indices) != 1) + 1
    starts = np.concatenate([indices[:1], indices[breaks]])
    stops = np.concatenate([indices[breaks - 1], indices[-1:]]) + 1
    return list(zip(starts.tolist(), stops.tolist(), strict=True))


def _range(r):
    return np.arange(r.start, r.stop, r.step, dtype=np.int64)


_PARAMS_RULE = ("a slice, a list of slices, a boolean mask of x's length or an integer "
                "index array (as unravel.slices gives)")


def _indices(params, n, i, owner):
    """The sorted indices of x that group ``i``'s ``params`` selects (checked)."""
    where = f"has group {i} with 'params'"
    given = params
    if isinstance(params, slice):
        params = [params]
    if isinstance(params, (list, tuple)) and params and all(
            isinstance(s, slice) for s in params):
        try:
            picked = np.concatenate([_range(range(n)[s]) for s in params])
        except (TypeError, ValueError) as exc:
            raise _fail(owner, f"{where} {check.show(given)}, which is not {_PARAMS_RULE} "
                        f"({exc}).", TypeError) from None
    else:
        try:
            array = np.asarray(params)
        except (TypeError, ValueError):
            array = np.asarray(params, dtype=object)
        if array.dtype == bool:
            if array.shape != (n,):
                raise _fail(owner, f"{where} a boolean mask of shape {array.shape}; a mask "
                            f"must have x's length, ({n},).")
            picked = np.flatnonzero(array)
        elif array.dtype.kind in "iu" or (array.size == 0 and array.dtype.kind == "f"):
            array = array.reshape(1) if array.ndim == 0 else array   # one index
            if array.ndim != 1:
                raise _fail(owner, f"{where} an index array of shape {array.shape}; it must "
                            f"be 1-D.")
            array = array.astype(np.int64)
            bad = (array < -n) | (array >= n)
            if bad.any():
                raise _fail(owner, f"{where} holding the index {int(array[np.argmax(bad)])}, "
                            f"out of range for x of {n} elements.")
            picked = np.where(array < 0, array + n, array)
        else:
            raise _fail(owner, f"{where} {check.show(given)}, which is not {_PARAMS_RULE}.",
                        TypeError)
    if picked.size == 0:
        raise _fail(owner, f"{where} {check.show(given)}, which selects no element of x: "
                    f"a group must not be empty.")
    ordered = np.sort(picked, kind="stable")
    twice = np.flatnonzero(ordered[1:] == ordered[:-1])
    if twice.size:
        raise _fail(owner, f"{where} selecting the element {int(ordered[twice[0]])} of x "
                    f"twice; every element must be selected once.")
    return ordered


def _options(group, i, cls, owner, keys):
    """The checked hyperparameters that group ``i`` sets."""
    options = cls._run_options({k: v for k, v in group.items() if k != "params"},
                               f"{owner} (group {i} of its 'groups' option)")
    for key in options:
        if not isinstance(key, str) or key not in keys:
            if key in _RUN_WIDE:
                rule = "is for the whole run (one objective): give it as an option"
            elif key in cls._run_fixed():
                rule = "is fixed for the whole optimizer: give it as an option"
            else:
                rule = (f"is not a hyperparameter of {owner} (a group may set "
                        f"{', '.join(keys)})")
            raise _fail(owner, f"has group {i} with the key {key!r}, which {rule}. Got "
                        f"{key}={check.show(options[key])}.")
    checked = {}
    for key, value in options.items():
        try:
            checked[key] = cls._run_check(key, value, owner)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"{exc} (in group {i} of the 'groups' option)") from None
    return checked


def group_keys(cls):
    """The keys a group of the option may set: the hyperparameters a run may
    set that the class's parameter groups take, but the run-wide ones; None
    when the class takes no groups."""
    keys = cls._run_group_keys()
    if keys is None:
        return None
    return tuple(k for k in keys if k not in _RUN_WIDE)


def parse(value, n, cls, owner):
    """The `Part` list of the option ``value`` for ``x`` of ``n`` elements (the
    default group last, when it is not empty), or None without groups."""
    if value is None:
        return None
    keys = group_keys(cls)
    if keys is None:
        raise _fail(owner, f"is not supported by {owner}. Got {check.show(value)}.")
    if isinstance(value, Mapping) or not isinstance(value, (list, tuple)):
        raise _fail(owner, f"must be a list of dicts {{'params': <slice | mask | index "
                    f"array>, <hyperparameter>: value}}. Got {check.show(value)} instead.",
                    TypeError)
    owner_of = np.full(n, -1, dtype=np.int64)
    parts = []
    for i, group in enumerate(value):
        if not isinstance(group, Mapping):
            raise _fail(owner, f"must be a list of dicts; its entry {i} is "
                        f"{check.show(group)}.", TypeError)
        if "params" not in group:
            raise _fail(owner, f"has group {i} without a 'params' key (the part of x it "
                        f"holds: {_PARAMS_RULE}).")
        indices = _indices(group["params"], n, i, owner)
        taken = owner_of[indices] >= 0
        if taken.any():
            element = int(indices[np.argmax(taken)])
            raise _fail(owner, f"has the element {element} of x in groups "
                        f"{int(owner_of[element])} and {i}; every element of x may belong "
                        f"to one group only.")
        owner_of[indices] = i
        parts.append(Part(_runs(indices), _options(group, i, cls, owner, keys), i))
    rest = np.flatnonzero(owner_of < 0)
    if rest.size:
        parts.append(Part(_runs(rest)))
    return parts


def layout(parts, n):
    """A fingerprint of the parts' layout over ``x`` (saved with the state)."""
    owner_of = np.full(n, -1, dtype=np.int32)
    for k, part in enumerate(parts):
        for a, b in part.runs:
            owner_of[a:b] = k
    return [len(parts), int(zlib.crc32(owner_of.tobytes()))]


# -- the run's optimizer ------------------------------------------------------------------------


def optimizer(cls, x, kwargs, parts):
    """The run's optimizer: ``cls(x, **kwargs)``, or with the option's
    ``parts`` a `Parts` over them."""
    if parts is None:
        return cls(x, **kwargs)
    return Parts(cls, x, kwargs, parts)


def check_settings(cls, opt, kwargs, dtype):
    """Refuse, before the objective is called, numeric hyperparameters that
    the next step would refuse in ``dtype``: the run's and each group's."""
    cls._run_check_settings(kwargs, dtype, opt.t + 1)
    for part in getattr(opt, "parts", ()):
        if part.options:
            cls._run_check_settings({**kwargs, **part.options}, dtype, opt.t + 1)


class Parts:
    """The optimizer of a run with ``groups`` (`adamopt._driven.Driven`'s
    instance side): ``cls``'s parameter groups over views of ``x``, one
    group per part (the default part with the run's options), one array per
    run of consecutive elements.

    `step` takes the flat gradient (as the run's objective returns it);
    `state_dict` gives the one-array layout, every state array as long as
    ``x`` and each state scalar a list (one value per part), with the
    fingerprint ``groups`` of the parts' layout, which `load_state_dict`
    compares.
    """

    #: Its step is a segmented one (views of ``x``): the run driver projects
    #: and copies ``x`` itself (adamopt._fused), as for SWATS.
    _fused_pass = False

    def __init__(self, cls, x, kwargs, parts):
        self._cls, self.params, self.parts = cls, x, parts
        self._runs = [run for part in parts for run in part.runs]
        self._first = np.cumsum([0] + [len(p.runs) for p in parts]).tolist()
        self._opt = cls([{"params": [x[a:b] for a, b in part.runs], **part.options}
                         for part in parts], **kwargs)
        self._members = self._opt._segments.members
        self._saved = {k: v for k, v in kwargs.items()
                       if (k in cls._SAVED_HYPERPARAMETERS and not callable(v))
                       or (k in _CLIP and v is not None)}
        self._layout = layout(parts, x.size)
        self._smoothed = np.empty_like(x)

    @property
    def t(self):
        return self._opt.t

    @property
    def grad_norm(self):
        return self._opt.grad_norm

    @property
    def param_groups(self):
        return self._opt.param_groups

    def _averaged_point(self):
        """The groups' averaged point (``average``) gathered like ``x``, or None."""
        inner = self._opt._averaged_point()
        if inner is None:
            return None
        out = np.empty_like(self.params)
        for a, (lo, hi) in zip(inner, self._runs, strict=True):
            out[lo:hi] = a
        return out

    def _views(self, g):
        return [[g[a:b] for a, b in part.runs] for part in self.parts]

    def step(self, grad):
        """One step of every group with the flat gradient ``grad`` (checked
        whole, then handed to the groups as views)."""
        g = check.grad_array(grad, self.params, f"{self._cls.__name__}.step",
                             check_range=self._opt.check_finite)
        self._opt.step(self._views(g))
        return self.params

    def _run_smoothed_gradient(self, grad):
        """What the ``gtol`` test measures: each array's own (its group's
        smoothing and scale), gathered into one vector like ``x``."""
        return self._gathered(grad, "_run_smoothed_gradient")

    def _run_gradient(self, grad):
        """What the ``gtol`` test of a deterministic run measures: each
        part's gradient at x (with its coupled decay), gathered like ``x``."""
        return self._gathered(grad, "_run_gradient")

    def _gathered(self, grad, hook):
        """The members' ``hook(gradient part)`` gathered into one vector."""
        g = np.asarray(grad)
        if g.shape != self.params.shape:
            return g, 1.0, False
        found = [getattr(m, hook)(g[a:b])
                 for m, (a, b) in zip(self._members, self._runs, strict=True)]
        out, owned = self._smoothed, all(own for _, _, own in found)
        scales = {scale for _, scale, _ in found}
        common = scales.pop() if len(scales) == 1 else None
        with np.errstate(over="ignore", invalid="ignore"):
            for (vector, scale, _), (a, b) in zip(found, self._runs, strict=True):
                out[a:b] = vector if common is not None else scale * np.asarray(vector)
        return out, (1.0 if common is None else common), owned

    # -- the one-array layout of the state ----------------------------------------------

    def _part_of(self, k):
        """The part that the run ``k`` belongs to."""
        return int(np.searchsorted(self._first, k, side="right")) - 1

    def state_dict(self):
        inner = self._opt.state_dict()
        x, entries = self.params, inner["state"]
        out = {"algorithm": inner["algorithm"], "t": inner["t"]}
        first = entries[0]
        for key, value in first.items():
            if isinstance(value, np.ndarray):
                flat = np.empty_like(x)
                for k, (a, b) in enumerate(self._runs):
                    flat[a:b] = entries[k][key]
                out[key] = flat
            elif key != "t":
                out[key] = [entries[self._first[p]][key] for p in range(len(self.parts))]
        out.update(self._saved)
        out["groups"] = list(self._layout)
        return out

    def load_state_dict(self, state):
        """Restore a state saved by `state_dict` of a run with the same groups
        (checked whole before anything changes)."""
        owner = f"{self._cls.__name__}.load_state_dict"
        if not isinstance(state, Mapping):
            raise TypeError(f"The 'state' parameter of {owner} must be a mapping as returned "
                            f"by state_dict(). Got {check.show(state)} instead.")
        saved = state.get("groups")
        if saved is None or list(saved) != list(self._layout):
            raise ValueError(
                f"The state given to {owner} was saved by a run "
                f"{'without' if saved is None else 'with other'} 'groups' (this run's "
                f"groups split x into {len(self.parts)} parts of "
                f"{[p.size for p in self.parts]} elements): pass the same 'groups' option.")
        inner = self._opt.state_dict()
        arrays = [k for k, v in inner["state"][0].items() if isinstance(v, np.ndarray)]
        scalars = [k for k in inner["state"][0] if k != "t" and k not in arrays]
        known = {"algorithm", "t", "groups", *arrays, *scalars, *_CLIP,
                 *self._cls._SAVED_HYPERPARAMETERS}
        unknown, missing = set(state) - known, {"algorithm", "t", *arrays, *scalars} - set(state)
        if unknown or missing:
            raise ValueError(f"The state given to {owner} does not fit this run: missing keys "
                             f"{sorted(missing)}, unknown keys {sorted(unknown)}.")
        like = _Like(self.params, self._cls._STATE_ARRAYS)
        flat = {k: self._cls._checked_state_array(like, state[k], k, owner) for k in arrays}
        for key in scalars:
            values = state[key]
            if not isinstance(values, (list, tuple)) or len(values) != len(self.parts):
                raise ValueError(f"The {key!r} entry of the state given to {owner} must be a "
                                 f"list of {len(self.parts)} numbers (one per group). Got "
                                 f"{check.show(values)} instead.")
        inner["algorithm"], inner["t"] = state["algorithm"], state["t"]
        inner["state"] = {k: {"t": state["t"], **{key: flat[key][a:b] for key in arrays},
                              **{key: state[key][self._part_of(k)] for key in scalars}}
                          for k, (a, b) in enumerate(self._runs)}
        hyper = {k: state[k] for k in self._cls._SAVED_HYPERPARAMETERS if k in state}
        clips = {k: check.optional_positive(state[k], k, owner) for k in _CLIP if k in state}
        for group, part in zip(inner["param_groups"], self.parts, strict=True):
            group.update({k: v for k, v in hyper.items() if k not in part.options})
        self._opt.load_state_dict(inner)
        for key, value in clips.items():   # (the groups that do not set their own)
            setattr(self._opt, key, value)
            self._saved[key] = value
        for key in hyper:
            if key not in self._cls._FIXED:
                self._saved[key] = hyper[key]


class _Like:
    """What a one-array optimizer's check of a loaded state array reads of it."""

    def __init__(self, x, arrays):
        self._x, self._STATE_ARRAYS = x, arrays
