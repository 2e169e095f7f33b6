r"""Parameters as a structure: a list, tuple or dict of arrays, or PyTorch's
list of parameter groups, stepped together by one optimizer.

`build` parses and checks the structure given to a class's constructor
(``Adam([W1, b1])``, ``Adam({"W": W, "b": b})``, ``Adam([{"params": ...,
"weight_decay": 0.0}, ...])``) and hands the compiled
``adamopt._kernels._Segments`` one *member* per array: a single-array
optimizer of the same class bound to that array (its state, its step count,
its overflow guard, its group's hyperparameters), so every check and every
arithmetic path of one array is the one of a structure.  `ParamGroup` is a
group as ``opt.param_groups`` shows it: its hyperparameters read and set
(checked as the attributes are) between steps.  `state_dict` and
`load_state_dict` hold the groups and each array's state in PyTorch's
layout.
"""

import itertools
from collections.abc import Mapping, MutableMapping

import numpy as np
from numpy.lib.array_utils import byte_bounds

from . import _validation as check
from ._kernels import _Segments
from ._optimizers import checked_t

#: Group keys every algorithm has besides its non-fixed hyperparameters.
GROUP_COMMON = ("maximize", "schedule", "max_grad_norm", "max_grad_value")
#: The clipping options (kept in the compiled core's slots, not set through
#: the members' constructors).
CLIP = ("max_grad_norm", "max_grad_value")


def group_keys(cls):
    """The keys a parameter group of ``cls`` may set."""
    a = cls._DECLARATION
    return tuple(h.name for h in a.hyperparameters if not h.fixed) + GROUP_COMMON


# -- parsing ---------------------------------------------------------------------------------


def _array(value, where, owner):
    """Check one array of a structure: a float32 or float64 ndarray, native,
    aligned and writeable; contiguous or not (a view is updated in place)."""
    if not isinstance(value, np.ndarray):
        raise TypeError(
            f"The 'params' parameter of {owner} must hold NumPy arrays of float32 or "
            f"float64 (updated in place); its entry {where} is {check.show(value)} instead.")
    if value.flags.c_contiguous or value.flags.f_contiguous:
        return check.params_array(value, owner) if where == "params" else _named(
            check.params_array, value, where, owner)
    if value.dtype.newbyteorder("=") not in check.SUPPORTED_DTYPES or not value.dtype.isnative:
        raise TypeError(
            f"The {where!r} parameter of {owner} must be an array of dtype float32 or "
            f"float64 in native byte order. Got {check.show(value)} instead.")
    if not (value.flags.writeable and value.flags.aligned):
        raise ValueError(
            f"The {where!r} parameter of {owner} must be writeable and aligned (it is "
            f"updated in place). Got {check.show(value)} instead.")
    return value


def _named(rule, value, where, owner):
    """Run a check of ``params`` on one array of a structure, naming it."""
    try:
        return rule(value, owner)
    except (TypeError, ValueError) as exc:
        raise type(exc)(str(exc).replace("'params'", repr(where), 1)) from None


def _group_arrays(params, where, owner):
    """(kind, keys, arrays) of one group's ``params``: an array (kind 0), a
    list or tuple of arrays (1) or a dict of arrays (2)."""
    if isinstance(params, np.ndarray):
        return 0, None, [_array(params, where, owner)]
    if isinstance(params, (list, tuple)):
        if not all(isinstance(a, np.ndarray) for a in params):
            raise TypeError(
                f"The {where!r} parameter of {owner} must be a NumPy array of float32 or "
                f"float64 (it is updated in place), a list or tuple of such arrays, a dict "
                f"of them or a list of parameter groups. Got {check.show(params)} instead.")
        arrays = [_array(a, f"{where}[{i}]", owner) for i, a in enumerate(params)]
        kind, keys = 1, None
    elif isinstance(params, Mapping):
        keys = tuple(params)
        arrays = [_array(params[k], f"{where}[{k!r}]", owner) for k in keys]
        kind = 2
    else:
        raise TypeError(
            f"The {where!r} parameter of {owner} must be an array, a list or tuple of "
            f"arrays, a dict of arrays or a list of parameter groups (dicts with a "
            f"'params' key). Got {check.show(params)} instead.")
    if not arrays:
        raise ValueError(
            f"The {where!r} parameter of {owner} must hold at least one array. Got an "
            f"empty {type(params).__name__} instead.")
    return kind, keys, arrays


def parse(params, cls, owner):
    """The groups of ``params``: ``(nested, groups)``, each group a dict with
    its ``kind``, ``keys``, ``arrays``, ``names``, ``options`` (the
    hyperparameters it sets) and ``params`` (its structure as given)."""
    nested = (isinstance(params, (list, tuple)) and len(params) > 0
              and all(isinstance(p, Mapping) for p in params))
    allowed = group_keys(cls)
    groups = []
    if not nested:
        kind, keys, arrays = _group_arrays(params, "params", owner)
        names = ([None] if kind == 0 else [repr(i) for i in range(len(arrays))] if kind == 1
                 else [repr(k) for k in keys])
        groups.append(dict(kind=kind, keys=keys, arrays=arrays, names=names, options={},
                           params=params))
    else:
        for i, group in enumerate(params):
            if "params" not in group:
                raise ValueError(
                    f"The 'params' parameter of {owner}: parameter group {i} must have a "
                    f"'params' key. Got the keys {sorted(map(str, group))} instead.")
            options = {k: v for k, v in group.items() if k != "params"}
            for key in options:
                if key not in allowed:
                    fixed = key in cls._FIXED or key == "check_finite"
                    rule = ("is fixed for the whole optimizer: give it to the constructor"
                            if fixed else f"is not a hyperparameter of {owner} (a group may "
                            f"set {', '.join(allowed)})")
                    raise ValueError(
                        f"The key {key!r} of parameter group {i} of {owner} {rule}. "
                        f"Got {key}={check.show(options[key])} instead.")
            kind, keys, arrays = _group_arrays(group["params"], f"params[{i}]['params']",
                                               owner)
            inner = ([""] if kind == 0 else [f"[{j}]" for j in range(len(arrays))]
                     if kind == 1 else [f"[{k!r}]" for k in keys])
            groups.append(dict(kind=kind, keys=keys, arrays=arrays, options=options,
                               names=[f"[{i}]['params']{n}" for n in inner],
                               params=group["params"]))
    _refuse_shared([a for g in groups for a in g["arrays"]],
                   [n for g in groups for n in g["names"]], owner)
    return nested, groups


def _refuse_shared(arrays, names, owner):
    """Refuse the same array twice, or two arrays that overlap in memory
    (sorted by their byte bounds: neighbours only, then the exact test)."""
    seen = {}
    for a, name in zip(arrays, names, strict=True):
        if id(a) in seen:
            raise ValueError(
                f"The 'params' parameter of {owner} holds the same array twice (arrays "
                f"{seen[id(a)]} and {name}); PyTorch refuses it too: give each array once.")
        seen[id(a)] = name
    bounds = sorted(((*byte_bounds(a), i) for i, a in enumerate(arrays) if a.size))
    for (_lo1, hi1, i), (lo2, _hi2, j) in itertools.pairwise(bounds):
        if lo2 < hi1 and np.shares_memory(arrays[i], arrays[j]):
            raise ValueError(
                f"The 'params' parameter of {owner} holds arrays that overlap in memory "
                f"(arrays {names[i]} and {names[j]}): every element must belong to one "
                f"array only.")
    # (a wide array's bounds may cover several later ones: test those too)
    for n, (_lo1, hi1, i) in enumerate(bounds):
        for lo2, _, j in bounds[n + 2:]:
            if lo2 >= hi1:
                break
            if np.shares_memory(arrays[i], arrays[j]):
                raise ValueError(
                    f"The 'params' parameter of {owner} holds arrays that overlap in memory "
                    f"(arrays {names[i]} and {names[j]}): every element must belong to "
                    f"one array only.")


# -- building --------------------------------------------------------------------------------


def build(opt, params, values):
    """Give ``opt`` (constructed around a placeholder) the structure
    ``params``: its members, its `_Segments`, its ``param_groups``.
    ``values`` are the constructor's arguments (defaults applied)."""
    cls, owner = type(opt), type(opt).__name__
    nested, groups = parse(params, cls, owner)
    base = {k: v for k, v in values.items() if k not in (*CLIP, "self", "params")}
    members, views, names, ranges, kinds, keys, clip_sets = [], [], [], [], [], [], []
    for i, group in enumerate(groups):
        options = {k: v for k, v in group["options"].items() if k not in CLIP}
        first = len(members)
        for a, name in zip(group["arrays"], group["names"], strict=True):
            direct = a.flags.c_contiguous or a.flags.f_contiguous
            member = cls(a if direct else np.ascontiguousarray(a), **{**base, **options})
            member._OWNER = owner
            members.append(member)
            views.append(None if direct else a)
            names.append(name)
        ranges.append((first, len(members)))
        kinds.append(group["kind"])
        keys.append(group["keys"])
        clip_sets.append(i + 1 if "max_grad_norm" in group["options"] else 0)
        for key in CLIP:
            value = group["options"].get(key, values[key])
            set_clip(members[first:], key, check.optional_positive(value, key, owner))
    pool_state(members)
    structure = params if not nested else [g["params"] for g in groups]
    opt._segments = _Segments(opt, members, views, names, ranges, kinds, keys, nested,
                              clip_sets, structure)
    opt._param_groups = [ParamGroup(opt, i) for i in range(len(groups))]
    opt._given = params   # (pickling rebuilds from it)


#: The alignment of each array's state in the shared buffers, in bytes (a
#: cache line and a whole vector of the widest loops).
STATE_ALIGN = 64


def pool_state(members):
    """Give the members' state arrays one buffer per dtype and state slot,
    each member's array a view of it (aligned, in the members' order).

    The step then streams through the state as through one array instead of
    through as many small allocations as arrays: measured 4-8 % less time per
    step for 1000 arrays of 1000 elements on one thread (fewer pages and TLB
    entries, the hardware prefetcher kept on one stream).  The values are
    copied in; the members' own arrays are dropped.
    """
    by_dtype = {}
    for m in members:
        by_dtype.setdefault(m.params.dtype, []).append(m)
    for dtype, group in by_dtype.items():
        step = max(1, STATE_ALIGN // dtype.itemsize)
        sizes = [-(-m.params.size // step) * step for m in group]
        total = sum(sizes)
        slots = [i for i, a in enumerate(group[0]._state) if a is not None]
        buffers = {}
        for i in slots:
            raw = np.empty(total + step, dtype)
            skip = (-raw.ctypes.data % STATE_ALIGN) // dtype.itemsize
            buffers[i] = raw[skip:skip + total]
        offset = 0
        for m, size in zip(group, sizes, strict=True):
            x = m.params
            order = "F" if x.flags.f_contiguous and not x.flags.c_contiguous else "C"
            m._share_state([
                buffers[i][offset:offset + x.size].reshape(x.shape, order=order)
                if i in buffers else None
                for i in range(len(m._state))])
            offset += size


def single(opt):
    """The `_Segments` of a one-array optimizer with clipping: itself, once."""
    return _Segments(opt, [opt], [None], [None], [(0, 1)], [0], [None], False, [0], None)


def set_clip(members, key, value):
    """Write a clipping option (checked) into the members' compiled slots."""
    slot = -1.0 if value is None and key == "max_grad_norm" else (
        float("inf") if value is None else float(value))
    for m in members:
        setattr(m, "_" + key, slot)


def get_clip(opt, key):
    value = getattr(opt, "_" + key)
    if key == "max_grad_norm":
        return None if value < 0 else value
    return None if value == float("inf") else value


# -- the groups ------------------------------------------------------------------------------


class ParamGroup(MutableMapping):
    """One parameter group of an optimizer (``opt.param_groups[i]``).

    ``group["params"]`` is the group's arrays as given (read-only); every
    other key is a hyperparameter, read from and written to the group: a
    value is checked as the optimizer's attribute of that name checks it
    (`ValueError`/`TypeError` naming it, nothing changed) and takes effect
    at the next `step`.  Options fixed at construction (``amsgrad``,
    ``centered``, ``check_finite``) belong to the whole optimizer.
    """

    def __init__(self, opt, index):
        self._opt = opt
        self._index = index

    def _members(self):
        segments = self._opt._segments
        if segments is None or not hasattr(self._opt, "_param_groups"):
            return [self._opt]
        first, stop = segments.groups[self._index]
        return segments.members[first:stop]

    def _keys(self):
        return ("params", *group_keys(type(self._opt)))

    def __getitem__(self, key):
        if key == "params":
            segments = self._opt._segments
            if not hasattr(self._opt, "_param_groups"):
                return self._opt._x
            return segments.params[self._index] if segments.nested else segments.params
        if key not in self._keys():
            raise KeyError(key)
        lead = self._members()[0]
        return get_clip(lead, key) if key in CLIP else getattr(lead, key)

    def __setitem__(self, key, value):
        opt = self._opt
        owner = type(opt).__name__
        if key == "params":
            raise ValueError(
                f"The 'params' of a parameter group of {owner} are fixed at construction; "
                f"create a new optimizer for other arrays.")
        if key not in self._keys():
            fixed = key in opt._FIXED or key == "check_finite"
            raise ValueError(
                f"The key {key!r} of parameter group {self._index} of {owner} "
                + ("is fixed for the whole optimizer." if fixed else
                   f"is not a hyperparameter of {owner} (a group may set "
                   f"{', '.join(group_keys(type(opt)))}).") + f" Got {check.show(value)}.")
        members = self._members()
        if not hasattr(opt, "_param_groups"):   # one array: the optimizer's attribute
            setattr(opt, key, value)
            return
        if key in CLIP:
            value = check.optional_positive(value, key, owner)
            set_clip(members, key, value)
            if key == "max_grad_norm":   # the group now clips within itself
                opt._segments.clip_sets[self._index] = self._index + 1
            return
        setattr(members[0], key, value)   # checked here: raises with nothing changed
        value = getattr(members[0], key)
        for m in members[1:]:
            setattr(m, key, value)

    def __delitem__(self, key):
        raise ValueError(f"The keys of a parameter group cannot be deleted (got {key!r}).")

    def __iter__(self):
        return iter(self._keys())

    def __len__(self):
        return len(self._keys())

    def __repr__(self):
        return repr({k: (f"<{self._describe()}>" if k == "params" else self[k]) for k in self})

    def _describe(self):
        members = self._members()
        return f"{len(members)} array" + ("s" if len(members) != 1 else "")


# -- state -----------------------------------------------------------------------------------


def _member_state(m):
    """One array's entry of ``state``: its step count, arrays and scalars."""
    full = m.state_dict()
    keep = {"t"} | set(m._state_arrays()) | set(m._STATE_SCALARS)
    return {k: v for k, v in full.items() if k in keep}


def _group_state(members):
    """One group's entry of ``param_groups``: the indices of its arrays and
    its hyperparameters (those a state dict saves: numbers and strings)."""
    lead = members[0]
    out = dict(lead._hyperparameters().items())
    for key in CLIP:
        value = get_clip(lead, key)
        if value is not None:
            out[key] = value
    return out


def state_dict(opt):
    """The state of a structured optimizer (see ``api`` in the class docs)."""
    segments = opt._segments
    state, groups = {}, []
    for gi, (first, stop) in enumerate(segments.groups):
        members = segments.members[first:stop]
        for k in range(first, stop):
            state[k] = _member_state(segments.members[k])
        entry = {"params": list(range(first, stop))}
        entry.update(_group_state(members))
        entry["own_max_grad_norm"] = segments.clip_sets[gi] > 0
        groups.append(entry)
    out = {"algorithm": opt._algorithm, "t": int(opt._t), "state": state,
           "param_groups": groups, "names": list(segments.names)}
    value = get_clip(opt, "max_grad_norm")
    if value is not None:
        out["max_grad_norm"] = value
    return out


def load_state_dict(opt, state):
    """Restore a state saved by `state_dict`: everything is checked (every
    array's state through its member, every group's hyperparameters) before
    anything changes."""
    owner = f"{type(opt).__name__}.load_state_dict"
    segments = opt._segments
    if not isinstance(state, Mapping):
        raise TypeError(
            f"The 'state' parameter of {owner} must be a mapping as returned by "
            f"state_dict(). Got {check.show(state)} instead.")
    expected = {"algorithm", "t", "state", "param_groups", "names"}
    missing = expected - set(state)
    unknown = set(state) - expected - {"max_grad_norm"}
    if missing or unknown:
        raise ValueError(
            f"The state given to {owner} does not fit a {type(opt).__name__} of parameter "
            f"groups: missing keys {sorted(missing)}, unknown keys {sorted(unknown)} (a "
            f"single-array state dict loads into a single-array optimizer).")
    if state["algorithm"] != opt._algorithm:
        raise ValueError(
            f"The state given to {owner} is from algorithm {check.show(state['algorithm'])}, "
            f"not {opt._algorithm!r}.")
    groups, arrays = state["param_groups"], state["state"]
    layout = [list(range(first, stop)) for first, stop in segments.groups]
    if (not isinstance(groups, (list, tuple)) or len(groups) != len(layout)
            or any(not isinstance(g, Mapping) or list(g.get("params", ())) != idx
                   for g, idx in zip(groups, layout, strict=False))
            or not isinstance(arrays, Mapping)
            or set(arrays) != set(range(len(segments.members)))):
        raise ValueError(
            f"The state given to {owner} has another structure: this optimizer has groups of "
            f"the arrays {layout}.")
    t = checked_t(state["t"], owner)
    top = check.optional_positive(state.get("max_grad_norm"), "max_grad_norm", owner)
    checked = []
    for gi, (first, stop) in enumerate(segments.groups):
        hyper = {k: v for k, v in groups[gi].items()
                 if k not in ("params", "own_max_grad_norm") and k not in CLIP}
        clips = {k: check.optional_positive(groups[gi].get(k), k, owner) for k in CLIP}
        own = bool(groups[gi].get("own_max_grad_norm", False))
        for k in range(first, stop):
            m = segments.members[k]
            entry = arrays[k]
            if not isinstance(entry, Mapping):
                raise TypeError(
                    f"The entry {k} of the 'state' of the state given to {owner} must be a "
                    f"mapping. Got {check.show(entry)} instead.")
            flat = {"algorithm": opt._algorithm, **entry, **hyper}
            checked.append((m, m._checked_state(flat, owner)))
        checked.append((gi, clips, own))
    # Everything is checked: apply.
    for item in checked:
        if isinstance(item[0], int):
            gi, clips, own = item
            first, stop = segments.groups[gi]
            for key, value in clips.items():
                set_clip(segments.members[first:stop], key, value)
            segments.clip_sets[gi] = gi + 1 if own else 0
            continue
        m, (t_m, arrays_m, scalars_m, hyper_m) = item
        m._apply_state(t_m, arrays_m, scalars_m, hyper_m)
    set_clip([opt], "max_grad_norm", top)
    opt._t = t


def placeholder(params, cls, owner):
    """The one-element array a structured optimizer's own core is bound to
    (float32 if any array is float32: its hyperparameters are then checked
    against the narrower range), after checking the structure ``params``."""
    if not cls._STRUCTURES:
        raise TypeError(
            f"The 'params' parameter of {owner} must be one NumPy array of float32 or "
            f"float64 ({owner} steps one array: its switch to SGD is decided on the whole "
            f"parameter vector; for several arrays step adamopt.ravel's flat vector, "
            f"x, unravel = adamopt.ravel(params), and read unravel(x)). Got "
            f"{check.show(params)} instead.")
    _, groups = parse(params, cls, owner)
    arrays = [a for g in groups for a in g["arrays"]]
    dtype = np.float32 if any(a.dtype == np.float32 for a in arrays) else np.float64
    return np.zeros(1, dtype)
