r"""`ravel`: a structure of arrays as one flat vector, and back (for ``minimize``).

A model's parameters are a dict (or list, or tuple, nested or not) of arrays;
`scipy.optimize.minimize` wants one 1-D ``x0``.  ``x0, unravel = ravel(params)``
copies the arrays into one vector, in the order of the structure (a dict's
insertion order), and ``unravel(x)`` gives the structure back as views of
``x``: no copy, so reading ``unravel(x)["W"]`` costs nothing and writing to
it writes to ``x``.  ``unravel.slices`` maps each name (or index, or path of
a nested structure) to its slice of the vector, the form the SciPy methods'
``groups`` option takes, and ``unravel.ravel(grads)`` flattens the gradients
of the same structure into one vector (one copy, with checks).
"""

import itertools
from collections.abc import Mapping
from typing import Any

import numpy as np

from . import _validation as check
from ._mapping import ReadOnlyMapping

_OWNER = "adamopt.ravel"

#: A structure's nodes: ("leaf", shape, dtype), ("dict", keys, children),
#: ("list", None, children) or ("tuple", type, children).
_Node = tuple


def _path_text(root, path):
    return root + "".join(f"[{key!r}]" for key in path)


def _describe(root, path, what, rule, value, exc=TypeError):
    where = f" at {_path_text(root, path)}" if path else ""
    return exc(f"The {root!r} parameter of {what} must be {rule}. "
               f"Got {check.show(value)}{where} instead.")


def _children(node):
    """The (key, child) pairs of a container, or None for anything else."""
    if isinstance(node, Mapping):
        return list(node.items())
    if isinstance(node, (list, tuple)):
        return list(enumerate(node))
    return None


def _flatten(node, path, leaves, root, what, depth=0):
    """The node of ``node``, appending (path, array) of its leaves to ``leaves``."""
    if depth > 100:
        raise _describe(root, path, what, "a structure at most 100 levels deep", node,
                        ValueError)
    pairs = _children(node)
    if pairs is None:
        leaves.append((path, node))
        return ("leaf", None, None)
    children = tuple(_flatten(child, (*path, key), leaves, root, what, depth + 1)
                     for key, child in pairs)
    if isinstance(node, Mapping):
        return ("dict", tuple(key for key, _ in pairs), children)
    if isinstance(node, list):
        return ("list", None, children)
    return ("tuple", type(node), children)


def _leaf_array(path, value, root, what):
    """A leaf as an array of real numbers (its dtype checked)."""
    if not isinstance(value, np.ndarray):
        raise _describe(root, path, what, "a NumPy array, or a dict, list or tuple of "
                        "NumPy arrays (nested or not)", value)
    kind = value.dtype.kind
    if kind == "c":
        raise _describe(root, path, what, "made of real arrays (optimize the real and "
                        "imaginary parts of a complex array as two real arrays)", value)
    if kind not in "fiu" or (kind == "f" and value.dtype.itemsize > 8):
        raise _describe(root, path, what, "made of arrays of floating-point (float16, "
                        "float32 or float64) or integer dtype", value)
    return value


def _flat_dtype(arrays, dtype):
    """float32 when every leaf is float32 (or float16), else float64; or ``dtype``."""
    if dtype is not None:
        try:
            chosen = np.dtype(dtype)
        except TypeError as exc:
            raise check._fail(TypeError, "dtype", _OWNER, "None, numpy.float32 or "
                              "numpy.float64", dtype) from exc
        if chosen not in check.SUPPORTED_DTYPES:
            raise check._fail(TypeError, "dtype", _OWNER, "None, numpy.float32 or "
                              "numpy.float64", dtype)
        return chosen
    small = all(a.dtype.kind == "f" and a.dtype.itemsize <= 4 for a in arrays)
    return np.dtype(np.float32 if small else np.float64)


def ravel(params: Any, *, dtype: Any = None) -> tuple[np.ndarray, "Unravel"]:
    r"""Flatten a structure of arrays into one 1-D vector, and get the way back.

    The counterpart of JAX's ``jax.flatten_util.ravel_pytree`` for NumPy, to
    hand a model's parameters to `scipy.optimize.minimize` (whose ``x0`` is
    1-D) and read them back inside the objective without copying.

    Parameters
    ----------
    params : numpy.ndarray, or dict, list or tuple of them (nested or not)
        The arrays, of any shapes, of dtype float16, float32, float64 or an
        integer type.  A dict's entries are taken in insertion order (JAX
        sorts the keys; we keep yours), then a list's or tuple's in order,
        depth first.
    dtype : {None, numpy.float32, numpy.float64}, optional
        The flat vector's dtype.  None: float32 when every array is float32 (or
        float16), else float64, so mixed float32/float64 arrays are promoted to
        float64 (as NumPy and JAX promote them).

    Returns
    -------
    x0 : numpy.ndarray
        A new 1-D, C-contiguous array holding every element (each array in C
        order), in ``dtype``.  ``params`` is not changed and does not share
        memory with it.
    unravel : callable
        ``unravel(x)`` returns the structure of ``params`` made of views of any
        1-D array ``x`` of ``x0``'s size (``res.x``, the iterate the objective
        receives): the same containers and keys, the original shapes, the dtype
        of ``x``.  Its attributes and method:

        ``slices``
            Each name or index to its ``slice`` of ``x0``, in order; below
            the first level of a nested structure the key is the path, a
            tuple such as ``("layer1", "W")``; a sub-structure (``"layer1"``)
            maps to the slice covering its arrays.
        ``shapes``, ``dtypes``
            Each array's shape and original dtype, by the same keys.
        ``size``, ``dtype``
            The length and dtype of ``x0``.
        ``ravel(tree, out=None)``
            Flatten a structure matching ``params`` (same containers, keys and
            shapes; array-likes of real numbers), such as the gradients, into
            ``out`` or a new 1-D array of ``dtype`` (one copy); a mismatch
            raises `TypeError`/`ValueError` naming where, ``out`` unchanged.

    Raises
    ------
    TypeError
        For a leaf that is not a NumPy array (a Python number, ``None``...), a
        complex, boolean, object or string array, or a bad ``dtype``.
    ValueError
        For a structure without any array.

    See Also
    --------
    adam : a SciPy method, whose ``groups`` option takes ``unravel.slices``.

    Notes
    -----
    With ``n_i`` the size of the i-th array (in the order above) and
    :math:`o_i = \sum_{j<i} n_j`, the i-th array is ``x0[o_i : o_i + n_i]``
    reshaped to its shape, and a sub-structure is the slice covering its
    arrays (they are adjacent).  Writing through a view of ``unravel(x)``
    writes to ``x``; a view keeps ``x`` alive.

    Examples
    --------
    >>> import numpy as np
    >>> import adamopt
    >>> params = {"W": np.ones((2, 3)), "b": np.zeros(3)}
    >>> x0, unravel = adamopt.ravel(params)
    >>> x0.shape
    (9,)
    >>> unravel.slices["b"]
    slice(6, 9, None)
    >>> p = unravel(x0)
    >>> p["W"].shape, np.shares_memory(p["W"], x0)
    ((2, 3), True)

    The gradient of a structure, flattened for the objective to return:

    >>> grads = {"W": np.full((2, 3), 0.5), "b": np.arange(3.0)}
    >>> unravel.ravel(grads)
    array([0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0. , 1. , 2. ])
    """
    leaves: list = []
    tree = _flatten(params, (), leaves, "params", _OWNER)
    if not leaves:
        raise _describe("params", (), _OWNER, "a structure holding at least one array",
                        params, ValueError)
    arrays = [_leaf_array(path, value, "params", _OWNER) for path, value in leaves]
    flat_dtype = _flat_dtype(arrays, dtype)
    sizes = [a.size for a in arrays]
    offsets = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]).tolist()
    x0 = np.empty(offsets[-1], dtype=flat_dtype)
    for a, (start, stop) in zip(arrays, itertools.pairwise(offsets), strict=True):
        x0[start:stop] = a.ravel(order="C")
    unravel = Unravel(tree, [path for path, _ in leaves], [a.shape for a in arrays],
                      [a.dtype for a in arrays], offsets, flat_dtype)
    return x0, unravel


def _key(path):
    """The key of a path in ``slices``: the name itself at the first level."""
    return path[0] if len(path) == 1 else path


class Unravel:
    """The way back from `ravel`'s flat vector to the structure of arrays
    (``unravel(x)``), with ``slices``, ``shapes``, ``dtypes``, ``size``,
    ``dtype`` and ``ravel(tree, out=None)``: see `adamopt.ravel`."""

    def __init__(self, tree, paths, shapes, dtypes, offsets, dtype):
        self._tree = tree
        self._shapes = tuple(shapes)
        self._bounds = tuple(itertools.pairwise(offsets))
        self.size = int(offsets[-1])
        self.dtype = np.dtype(dtype)
        self._args = (tree, paths, shapes, dtypes, offsets, dtype)
        slices: dict = {}
        _span(tree, (), iter(self._bounds), 0, slices)
        keys = {}
        for path, bounds in slices.items():
            if not path:
                continue
            key = _key(path)
            if key in keys:
                raise ValueError(
                    f"The 'params' parameter of {_OWNER} has two entries that "
                    f"unravel.slices would name {key!r} (the key {key!r} at the first "
                    f"level and the path of a nested entry); rename one.")
            keys[key] = slice(*bounds)
        self.slices = ReadOnlyMapping(keys)
        self.shapes = ReadOnlyMapping({_key(p): s for p, s in zip(paths, shapes, strict=True)
                                       if p})
        self.dtypes = ReadOnlyMapping({_key(p): d for p, d in zip(paths, dtypes, strict=True)
                                       if p})

    def __call__(self, x: np.ndarray) -> Any:
        """The structure of ``params``, made of views of the 1-D array ``x``."""
        if not isinstance(x, np.ndarray):
            raise check._fail(TypeError, "x", "unravel", "a 1-D NumPy array (its views are "
                              "returned; use np.asarray(x) for other array-likes)", x)
        if x.ndim != 1 or x.size != self.size:
            raise check._fail(ValueError, "x", "unravel",
                              f"a 1-D array of {self.size} elements (the size of the "
                              f"raveled structure)", x)
        views = iter([x[a:b].reshape(shape)
                      for (a, b), shape in zip(self._bounds, self._shapes, strict=True)])
        return _build(self._tree, views)

    def ravel(self, tree: Any, out: np.ndarray | None = None) -> np.ndarray:
        """Flatten ``tree``, a structure like ``params`` (the same containers,
        keys and shapes; array-likes of real numbers), into ``out`` or a new
        1-D array of `dtype`; return it.  Used for the gradient an objective
        returns to ``minimize``.  Refuses (`TypeError`/`ValueError`, ``out``
        unchanged) a structure that does not match, naming where."""
        where = "unravel.ravel"
        values: list = []
        _match(self._tree, tree, (), values, where)
        arrays = []
        for (path, value), shape in zip(values, self._shapes, strict=True):
            try:
                a = np.asarray(value)
            except Exception as exc:   # a ragged nested list
                raise _describe("tree", path, where, "made of arrays of real numbers",
                                value) from exc
            if a.dtype.kind not in "fiu":
                raise _describe("tree", path, where, "made of arrays of real numbers",
                                a)
            if a.shape != shape:
                raise ValueError(
                    f"The 'tree' parameter of {where} must have the shapes of params. "
                    f"Got shape {a.shape} at {_path_text('tree', path)} instead of "
                    f"{shape}.")
            arrays.append(a)
        if out is None:
            out = np.empty(self.size, dtype=self.dtype)
        elif not (isinstance(out, np.ndarray) and out.ndim == 1 and out.size == self.size
                  and out.dtype.kind == "f" and out.flags.writeable):
            raise check._fail(TypeError if not isinstance(out, np.ndarray) else ValueError,
                              "out", where, f"a writeable 1-D float array of {self.size} "
                              f"elements", out)
        for a, (start, stop) in zip(arrays, self._bounds, strict=True):
            out[start:stop] = a.ravel(order="C")
        return out

    def __reduce__(self):
        return (Unravel, self._args)

    def __repr__(self):
        names = list(self.shapes)
        shown = ", ".join(map(repr, names[:6])) + (", ..." if len(names) > 6 else "")
        return (f"<unravel: {self.size} {self.dtype} elements into "
                f"{len(self._shapes)} array{'s' if len(self._shapes) != 1 else ''}"
                f"{': ' + shown if names else ''}>")


def _span(node, path, bounds, start, out):
    """Record the (start, stop) of ``node`` (beginning at ``start``) and of
    every node below it; an empty container spans an empty slice."""
    kind, keys, children = node
    if kind == "leaf":
        out[path] = next(bounds)
        return out[path][1]
    keys = keys if kind == "dict" else range(len(children))
    out[path] = None     # (a container before its entries, in the order of the structure)
    stop = start
    for key, child in zip(keys, children, strict=True):
        stop = _span(child, (*path, key), bounds, stop, out)
    out[path] = (start, stop)
    return stop


def _build(node, views):
    kind, keys, children = node
    if kind == "leaf":
        return next(views)
    items = [_build(child, views) for child in children]
    if kind == "dict":
        return dict(zip(keys, items, strict=True))
    if kind == "list":
        return items
    return keys._make(items) if hasattr(keys, "_make") else keys(items)


def _match(node, value, path, out, where):
    """Collect the leaves of ``value`` when it has the structure ``node``."""
    kind, keys, children = node
    if kind == "leaf":
        if _children(value) is not None and not isinstance(value, (list, tuple)):
            raise _describe("tree", path, where, "an array where params has one", value)
        out.append((path, value))
        return
    if kind == "dict":
        if not isinstance(value, Mapping) or list(value.keys()) != list(keys):
            if isinstance(value, Mapping) and set(value.keys()) == set(keys):
                value = {key: value[key] for key in keys}    # another order is fine
            else:
                got = list(value.keys()) if isinstance(value, Mapping) else value
                raise _describe("tree", path, where,
                                f"a dict with the keys of params, {list(keys)}", got,
                                ValueError if isinstance(value, Mapping) else TypeError)
        pairs = [(key, value[key]) for key in keys]
    else:
        if not isinstance(value, (list, tuple)) or isinstance(value, np.ndarray):
            raise _describe("tree", path, where,
                            f"a list or tuple of {len(children)} entries, as params", value)
        if len(value) != len(children):
            raise _describe("tree", path, where,
                            f"a list or tuple of {len(children)} entries, as params",
                            value, ValueError)
        pairs = list(enumerate(value))
    for (key, child_value), child in zip(pairs, children, strict=True):
        _match(child, child_value, (*path, key), out, where)
