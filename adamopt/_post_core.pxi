# The post-pass stage's side of `Core` (included after it, see _post.pxi):
# the checks of the stages' arrays and the setting of `Core._post`.


cdef _post_set(Core self, lower, upper, before, average, out, c, step_norm):
    """`Core._post` (its docstring: `_POST_DOC`)."""
    import numpy as np
    arrays = (_post_bound(self, lower, "lower"), _post_bound(self, upper, "upper"),
              _post_target(self, before, "before"), _post_target(self, average, "average"),
              _post_target(self, out, "out"))
    w = _post_weight(self, c)
    if not isinstance(step_norm, (bool, np.bool_)):
        raise TypeError(f"The 'step_norm' parameter of _post must be a bool. Got "
                        f"{step_norm!r} instead.")
    if step_norm and arrays[2] is None:
        raise ValueError("The 'step_norm' parameter of _post needs 'before' (the norm is "
                         "taken against it); the post-pass is unchanged.")
    lo, hi = arrays[0], arrays[1]
    if lo is not None and hi is not None and bool(np.any(lo > hi)):
        raise ValueError("The 'lower' and 'upper' parameters of _post must have lower <= "
                         "upper for every element; the post-pass is unchanged.")
    _post_no_overlap(self, arrays, (2, 3, 4))
    cdef Py_ssize_t nb = (self._n + _POST_BLOCK - 1) // _POST_BLOCK
    cdef double* grown
    if step_norm and nb > self._post_nnorms:
        grown = <double*>realloc(self._post_ops.norms, max(1, nb) * sizeof(double))
        if grown == NULL:
            raise MemoryError()
        self._post_ops.norms, self._post_nnorms = grown, nb
    self._post_arrays = arrays
    self._post_ops.c = w
    self._post_ops.norm_on = bool(step_norm)
    self._post_ops.norm_taken = False
    self._post_on = any(a is not None for a in arrays)
    _post_refresh(self)


cdef double _post_norm_of(Core self):
    """`Core._post_step_norm`: the blocks' sums, added in block order."""
    cdef Py_ssize_t b, nb = (self._n + _POST_BLOCK - 1) // _POST_BLOCK
    cdef double r = 0.0
    if not (self._post_on and self._post_ops.norm_on and self._post_ops.norm_taken):
        return NAN
    for b in range(nb):
        r = r + self._post_ops.norms[b]
    return sqrt(r)

cdef _post_no_overlap(Core self, tuple arrays, tuple which):
    """Raise `ValueError` if one of the targets ``which`` of ``arrays`` may
    overlap another array of the stages, the parameters or the state."""
    import numpy as np
    names = ("lower", "upper", "before", "average", "out")
    for i in which:
        if arrays[i] is None:
            continue
        others = [(names[k], arrays[k]) for k in range(5) if k != i and arrays[k] is not None]
        others += [("the parameters", self._x)]
        others += [("a state array", a) for a in (self._s0, self._s1, self._s2, self._s3)
                   if a is not None]
        for name, a in others:
            if np.may_share_memory(arrays[i], a):
                raise ValueError(f"The '{names[i]}' parameter of _post must not overlap "
                                 f"{name}; the post-pass is unchanged.")


cdef _post_set_out(Core self, out):
    """`Core._post_out`: replace the copy-out's array alone (O(1) checks)."""
    if not self._post_on or self._post_arrays[4] is None:
        raise ValueError("_post_out replaces the 'out' array of a post-pass that has one; "
                         "set it with _post first.")
    arrays = self._post_arrays[:4] + (_post_target(self, out, "out"),)
    _post_no_overlap(self, arrays, (4,))
    self._post_arrays = arrays
    _post_refresh(self)


cdef _post_swap_targets(Core self):
    """`Core._post_swap`: ``before`` and ``out`` trade arrays (both set)."""
    arrays = self._post_arrays
    if not self._post_on or arrays[2] is None or arrays[4] is None:
        raise ValueError("_post_swap exchanges the 'before' and 'out' arrays of a post-pass "
                         "that has both; set them with _post first.")
    self._post_arrays = (arrays[0], arrays[1], arrays[4], arrays[3], arrays[2])
    _post_refresh(self)


cdef double _post_weight(Core self, c) except? -1.0:
    """``c`` checked (a real in [0, 1]) and rounded to the parameters' dtype."""
    import numpy as np
    real = (int, float, np.integer, np.floating)
    if isinstance(c, (bool, np.bool_)) or not isinstance(c, real):
        raise TypeError(f"The 'c' parameter of _post must be a real number in [0, 1]. "
                        f"Got {c!r} instead.")
    w = float(np.dtype(self._x.dtype).type(c))
    if not 0.0 <= w <= 1.0:
        raise ValueError(f"The 'c' parameter of _post must be a real number in [0, 1]. "
                         f"Got {c!r} instead.")
    return w

cdef _post_bound(Core self, value, str name):
    """A bound of `_post` as an array of the parameters' dtype (of one
    element for a scalar), or None."""
    import numpy as np
    if value is None:
        return None
    if not isinstance(value, np.ndarray):
        if isinstance(value, (bool, np.bool_)) or not isinstance(
                value, (int, float, np.integer, np.floating)):
            raise TypeError(f"The '{name}' parameter of _post must be an array or a real "
                            f"number. Got {value!r} instead.")
        value = np.full(1, value, dtype=self._x.dtype)
    cdef cnp.ndarray a = value
    if (cnp.PyArray_TYPE(a) != self._typenum
            or cnp.PyArray_SIZE(a) not in (1, self._n)
            or (cnp.PyArray_SIZE(a) != 1
                and (cnp.PyArray_FLAGS(a) & self._layout_flag) != self._layout_flag)
            or not cnp.PyArray_ISALIGNED(a) or not cnp.PyArray_ISNOTSWAPPED(a)):
        raise ValueError(f"The '{name}' parameter of _post must be one number or an array "
                         f"of the parameters' dtype ({self._x.dtype}), size ({self._n}) "
                         f"and memory order. Got {_shape_of(a)} instead.")
    if bool(np.isnan(a).any()):
        raise ValueError(f"The '{name}' parameter of _post must hold no NaN.")
    return a

cdef _post_target(Core self, value, str name):
    """An array `_post` writes into, checked, or None."""
    if value is None:
        return None
    if not isinstance(value, cnp.ndarray) or not self._array_intact(<cnp.ndarray>value):
        raise ValueError(f"The '{name}' parameter of _post must be a writable array of "
                         f"the parameters' dtype ({self._x.dtype}), size ({self._n}) and "
                         f"memory order. Got {_shape_of(value)} instead.")
    return value

cdef int _post_refresh(Core self) except -1:
    """Re-check the stages' arrays (a callable may have resized one in
    place since) and point `_post_ops` at their data: O(1) per array, right
    before the pass.  Raises `ValueError` (nothing changed)."""
    cdef tuple arrays = self._post_arrays
    cdef cnp.ndarray a
    cdef int k
    cdef char* p[5]
    cdef bint scalar[2]
    scalar[0] = scalar[1] = False
    for k in range(5):
        p[k] = NULL
        if arrays[k] is None:
            continue
        a = arrays[k]
        if k < 2:
            scalar[k] = cnp.PyArray_SIZE(a) == 1 and self._n != 1
            if not ((scalar[k] or _array_shape_ok(self, a))
                    and cnp.PyArray_TYPE(a) == self._typenum):
                _post_changed(self, k)
        elif not self._array_intact(a):
            _post_changed(self, k)
        p[k] = <char*>cnp.PyArray_DATA(a)
    self._post_ops.lower = p[0]
    self._post_ops.upper = p[1]
    self._post_ops.lower_scalar = p[0] != NULL and scalar[0]
    self._post_ops.upper_scalar = p[1] != NULL and scalar[1]
    self._post_ops.before = p[2]
    self._post_ops.average = p[3]
    self._post_ops.out = p[4]
    return 0

cdef bint _array_shape_ok(Core self, cnp.ndarray a):
    """Size, layout, alignment and byte order of the parameters (read-only allowed)."""
    return (cnp.PyArray_SIZE(a) == self._n
            and (cnp.PyArray_FLAGS(a) & self._layout_flag) == self._layout_flag
            and cnp.PyArray_ISALIGNED(a) and cnp.PyArray_ISNOTSWAPPED(a))

cdef _post_changed(Core self, int k):
    name = ("lower", "upper", "before", "average", "out")[k]
    raise ValueError(f"The '{name}' array of the post-pass of {type(self).__name__} changed "
                     f"size, dtype or memory layout since it was set; the parameters and "
                     f"the optimizer state are unchanged.")

cdef int _post_check_gradient(Core self, cnp.ndarray g) except -1:
    """Refuse a gradient overlapping an array the pass writes (it would
    read what the pass wrote)."""
    cdef char* gp = <char*>cnp.PyArray_DATA(g)
    cdef Py_ssize_t nb = self._n * cnp.PyArray_ITEMSIZE(g)
    cdef char* targets[3]
    targets[0] = self._post_ops.before
    targets[1] = self._post_ops.average
    targets[2] = self._post_ops.out
    cdef int k
    for k in range(3):
        if targets[k] != NULL and gp < targets[k] + nb and targets[k] < gp + nb:
            raise ValueError("internal error: the gradient overlaps an array of the "
                             "post-pass")
    return 0
