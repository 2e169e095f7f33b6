# The segmented step (included at the end of ``_kernels.pyx``): one step of
# many arrays -- a structure of parameters (a list or dict of arrays, groups
# of them), or one array with gradient clipping -- as ONE job on the pool.
#
# Each array of the step is a *segment*: its x, g and state pointers, its
# length and dtype, its own per-step scalars and flags (those of its group at
# its own step count) and the check's limit.  The segments are laid end to
# end in one index space; the pool's chunks span segments (`_seg_find` maps a
# chunk to the segments it covers), so many small arrays cost one job, not
# one job each.  Phase one checks every segment before phase two updates any
# element (a bad gradient in the last array leaves the first untouched).
# A segment may also be a contiguous range of a larger array (a view
# ``x[a:b]``): it is just a pointer and a length.
#
# Gradient clipping is fused into this job.  ``max_grad_value`` is a clamp in
# the loops' `_grad_at` (``StepScalars.clamp``).  For ``max_grad_norm`` phase
# one also writes the sum of squares of each fixed block of NORM_BLOCK
# elements of each segment (a block belongs to the chunk its first element
# falls in, and is summed in one fixed order: `_sumsq`), so the sums, added
# in block order in float64, are bitwise the same for any number of threads;
# the coefficient ``max_norm / (norm + 1e-6)`` (PyTorch's ``clip_grad_norm_``)
# is then folded into each segment's ``sign``, which already multiplies g.
#
# Every array of a structure is held by its own single-array optimizer (a
# *member*: the same class, bound to that array), which keeps its state, its
# step count (PyTorch's per-parameter ``step``: an array given ``None``
# keeps its count), its overflow guard and its hyperparameters (those of its
# group).  A step evaluates the schedules once per group (through the
# group's first member), then fills one segment per member through
# `Core._scalars`, the same code as the one-array step.

cdef enum:
    NORM_BLOCK = 2048


cdef struct Segment:
    char* x
    const char* g
    char* state[MAX_STATE]
    Py_ssize_t n          # elements
    Py_ssize_t start      # its first element in the job's index space
    Py_ssize_t block0     # its first block in the sums of squares
    Py_ssize_t itemsize
    bint is64, coupled
    int flags
    StepScalars* s
    double sign, weight_decay, limit   # the check's arguments
    int clip              # its clipping set (an index of _Segments.set_max)
    int member            # its member (for the error messages)
    int big               # a new value exceeded its limit (the overflow guard)


cdef struct SegJob:
    const KernelTable* table
    int kernel
    Segment* segs
    Py_ssize_t nseg
    bint check            # run the gradient check (check_finite)
    double* sums          # the sums of squares of the blocks (NULL: no norm)
    Py_ssize_t chunk      # the pieces of phase one on one thread (_seg_check_chunk)
    int bad


cdef inline Py_ssize_t _seg_find(const SegJob* j, Py_ssize_t i) noexcept nogil:
    """The last segment that starts at or before element ``i``."""
    cdef Py_ssize_t lo = 0, hi = j.nseg - 1, mid
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if j.segs[mid].start <= i:
            lo = mid
        else:
            hi = mid - 1
    return lo


cdef inline bint _seg_bad(const SegJob* j, const Segment* seg, Py_ssize_t lo,
                          Py_ssize_t hi) noexcept nogil:
    """Whether the check fails on the elements [lo, hi) of ``seg``."""
    cdef Py_ssize_t off = lo * seg.itemsize
    if seg.is64:
        return j.table.any_bad64(<const double*>(seg.g + off), <const double*>(seg.x + off),
                                 hi - lo, seg.sign, seg.weight_decay, seg.limit, seg.coupled)
    return j.table.any_bad32(<const float*>(seg.g + off), <const float*>(seg.x + off),
                             hi - lo, seg.sign, seg.weight_decay, seg.limit, seg.coupled)


cdef void _seg_check_chunk(void* ctx, Py_ssize_t begin, Py_ssize_t end) noexcept nogil:
    """Phase one over [begin, end), from the end backwards in pieces of the
    job's chunk (as `_check_chunk`: the update, forwards, then reads first
    what was checked last, still in cache)."""
    cdef SegJob* j = <SegJob*>ctx
    cdef Py_ssize_t c = j.chunk, b
    if end - begin <= c:
        _seg_check_range(j, begin, end)
        return
    b = (end - begin - 1) // c * c + begin
    while b >= begin and not j.bad:
        _seg_check_range(j, b, min(b + c, end))
        b -= c


cdef void _seg_check_range(SegJob* j, Py_ssize_t begin, Py_ssize_t end) noexcept nogil:
    """The check of every segment piece of [begin, end), and (clipping by
    norm) the sums of squares of the blocks that start there."""
    cdef Py_ssize_t k = _seg_find(j, begin), lo, hi, b, bend
    cdef Segment* seg
    cdef bint bad = False
    cdef double total
    while k < j.nseg and j.segs[k].start < end and not bad:
        seg = &j.segs[k]
        lo = max(begin, seg.start) - seg.start
        hi = min(end, seg.start + seg.n) - seg.start
        if hi > lo:
            if j.sums == NULL:
                bad = j.check and _seg_bad(j, seg, lo, hi)
            else:
                b = (lo + NORM_BLOCK - 1) // NORM_BLOCK
                while b * NORM_BLOCK < hi and not bad:
                    bend = min((b + 1) * NORM_BLOCK, seg.n)
                    if seg.is64:
                        total = j.table.sumsq64(
                            <const double*>(seg.g + b * NORM_BLOCK * 8), bend - b * NORM_BLOCK,
                            seg.s.clamp)
                    else:
                        total = j.table.sumsq32(
                            <const float*>(seg.g + b * NORM_BLOCK * 4), bend - b * NORM_BLOCK,
                            seg.s.clamp)
                    j.sums[seg.block0 + b] = total
                    # The sum of the unclamped squares below limit**2 proves
                    # every |g| below the limit: the check's scan is then not
                    # needed (it runs for NaN, infinity, a large element, a
                    # clamp or coupled decay, whose effective gradient differs).
                    if j.check and not (total < seg.limit * seg.limit and not seg.coupled
                                        and seg.s.clamp == INFINITY):
                        bad = _seg_bad(j, seg, b * NORM_BLOCK, bend)
                    b += 1
        k += 1
    if bad:
        adamopt_flag_set(&j.bad)


cdef void _seg_update_chunk(void* ctx, Py_ssize_t begin, Py_ssize_t end) noexcept nogil:
    """Phase two over [begin, end): each segment piece through its algorithm's loop."""
    cdef SegJob* j = <SegJob*>ctx
    cdef Py_ssize_t k = _seg_find(j, begin), lo, hi, off
    cdef Segment* seg
    cdef char* st[MAX_STATE]
    cdef int q
    cdef bint big
    while k < j.nseg and j.segs[k].start < end:
        seg = &j.segs[k]
        lo = max(begin, seg.start) - seg.start
        hi = min(end, seg.start + seg.n) - seg.start
        if hi > lo:
            off = lo * seg.itemsize
            for q in range(MAX_STATE):
                st[q] = _at(seg.state[q], off)
            if seg.is64:
                big = j.table.update64(j.kernel, <double*>(seg.x + off),
                                       <const double*>(seg.g + off), <double**>st, hi - lo,
                                       seg.s, seg.flags)
            else:
                big = j.table.update32(j.kernel, <float*>(seg.x + off),
                                       <const float*>(seg.g + off), <float**>st, hi - lo,
                                       seg.s, seg.flags)
            if big:
                adamopt_flag_set(&seg.big)
        k += 1


cdef double _scaled_norm(const SegJob* j, int clip) noexcept nogil:
    """The 2-norm of the clamped gradients of the segments of the clipping
    set ``clip`` when the sum of their squares overflowed: scaled by the
    largest magnitude first (as `adamopt._stopping.GradientTest`)."""
    cdef double top = 0.0, acc = 0.0, a
    cdef Py_ssize_t k, i
    cdef const Segment* seg
    for k in range(j.nseg):
        seg = &j.segs[k]
        if seg.clip == clip:
            for i in range(seg.n):
                a = fabs(_seg_value(seg, i))
                top = a if (a > top or a != a) else top
    if not (top > 0.0 and isfinite(top)):
        return top
    for k in range(j.nseg):
        seg = &j.segs[k]
        if seg.clip == clip:
            for i in range(seg.n):
                a = _seg_value(seg, i) / top
                acc = acc + a * a
    return top * sqrt(acc)


cdef inline double _seg_value(const Segment* seg, Py_ssize_t i) noexcept nogil:
    """Element ``i`` of the gradient of ``seg``, clamped, in float64."""
    cdef double a = (<const double*>seg.g)[i] if seg.is64 else (<const float*>seg.g)[i]
    cdef double c = seg.s.clamp if seg.is64 else <double><float>seg.s.clamp
    a = -c if a < -c else a
    return c if a > c else a


cdef double _clip(SegJob* j, const double* set_max, double* set_norm, int nsets) noexcept nogil:
    """After phase one: the norm of each clipping set (its blocks' sums of
    squares added in block order), each set's coefficient folded into its
    segments' ``sign``; returns the norm over every segment."""
    cdef Py_ssize_t k, b, nb
    cdef int c
    cdef const Segment* seg
    cdef double coef, top = 0.0, acc = 0.0
    for c in range(nsets):
        set_norm[c] = 0.0
    for k in range(j.nseg):
        seg = &j.segs[k]
        nb = (seg.n + NORM_BLOCK - 1) // NORM_BLOCK
        for b in range(nb):
            set_norm[seg.clip] = set_norm[seg.clip] + j.sums[seg.block0 + b]
    for c in range(nsets):
        if isfinite(set_norm[c]):
            set_norm[c] = sqrt(set_norm[c])
        else:   # (squares beyond float64, or a NaN without the check)
            set_norm[c] = _scaled_norm(j, c)
        top = set_norm[c] if (set_norm[c] > top or set_norm[c] != set_norm[c]) else top
    for k in range(j.nseg):
        seg = &j.segs[k]
        c = seg.clip
        if set_max[c] >= 0:
            coef = set_max[c] / (set_norm[c] + 1e-6)
            if not coef >= 1.0:   # (NaN too, as PyTorch)
                seg.s.sign = seg.s.sign * coef
    if not (top > 0.0 and isfinite(top)):
        return top
    for c in range(nsets):
        acc = acc + (set_norm[c] / top) * (set_norm[c] / top)
    return top * sqrt(acc)


cdef void _seg_run(SegJob* j, Py_ssize_t n, Py_ssize_t chunk, int nthreads,
                   const double* set_max, double* set_norm, int nsets,
                   double* norm) noexcept nogil:
    """Phase one on every segment, then (if the check passed) the clipping
    coefficients and phase two; on several threads, every chunk of phase one
    is done before any element is updated."""
    if j.sums != NULL:
        adamopt_parallel_for2(_seg_check_chunk, NULL, j, NULL, n, chunk, nthreads, True)
        if j.bad:
            return
        norm[0] = _clip(j, set_max, set_norm, nsets)
        adamopt_parallel_for2(_seg_update_chunk, NULL, j, NULL, n, chunk, nthreads, True)
    elif j.check:
        adamopt_parallel_for2(_seg_check_chunk, _seg_update_chunk, j, &j.bad, n, chunk,
                              nthreads, True)
    else:
        adamopt_parallel_for2(_seg_update_chunk, NULL, j, NULL, n, chunk, nthreads, True)


def _refuse_post_on_segments(Core owner):
    """The post-pass stages (``_post``) run in the one-array step only (not
    yet per segment): refuse them on a structure or with clipping."""
    raise ValueError(
        f"The post-pass stages (bounds, averaging, copy-out) of {owner._owner} work on one "
        f"array without gradient clipping only (not yet on a structure of arrays or with "
        f"max_grad_norm/max_grad_value); nothing was changed.")


@cython.auto_pickle(False)
cdef class _Segments:
    """The arrays one optimizer steps together, and its step (see the top of
    ``_segments.pxi``).  Built by ``adamopt._structure``.

    ``members``: the single-array optimizer of each array, group by group
    (for one array with clipping: the optimizer itself); ``views``: for each,
    the user's non-contiguous array its member's private copy mirrors (copied
    in before and out after each step), or None; ``names``: how error
    messages name each array; ``groups``: each group's member range
    ``(first, stop)``; ``kinds``/``keys``: each group's structure (0 one
    array, 1 a list or tuple, 2 a dict with those keys); ``nested``: params
    was a list of group dicts (grads: one item per group); ``clip_sets``:
    each group's clipping set (0: the owner's ``max_grad_norm``; k > 0 the
    group's own, read from its first member).
    """

    cdef readonly Core owner
    cdef readonly list members, views, names, groups, kinds, keys
    cdef readonly bint nested
    cdef public list clip_sets
    cdef readonly object params
    cdef Segment* segs
    cdef StepScalars* scal
    cdef double* sums
    cdef double* set_max
    cdef double* set_norm
    cdef Py_ssize_t nmem, nblocks

    def __init__(self, Core owner, list members, list views, list names, list groups,
                 list kinds, list keys, bint nested, list clip_sets, object params):
        self.owner = owner
        self.members, self.views, self.names = members, views, names
        self.groups, self.kinds, self.keys = groups, kinds, keys
        self.nested, self.clip_sets, self.params = nested, clip_sets, params
        self.nmem = len(members)
        self.nblocks = 0
        cdef Core m
        for m in members:
            self.nblocks += (m._n + NORM_BLOCK - 1) // NORM_BLOCK
        cdef Py_ssize_t ngroups = len(groups)
        self.segs = <Segment*>malloc(max(1, self.nmem) * sizeof(Segment))
        self.scal = <StepScalars*>malloc(max(1, self.nmem) * sizeof(StepScalars))
        self.sums = <double*>malloc(max(1, self.nblocks) * sizeof(double))
        self.set_max = <double*>malloc((ngroups + 1) * sizeof(double))
        self.set_norm = <double*>malloc((ngroups + 1) * sizeof(double))
        if (self.segs == NULL or self.scal == NULL or self.sums == NULL
                or self.set_max == NULL or self.set_norm == NULL):
            raise MemoryError()

    def __dealloc__(self):
        free(self.segs)
        free(self.scal)
        free(self.sums)
        free(self.set_max)
        free(self.set_norm)

    # -- the gradients, matched to the structure -------------------------------

    cdef _structure_error(self, str where, str wanted, object got):
        raise TypeError(
            f"The {where!r} parameter of {self.owner._owner}.step must be {wanted} (the "
            f"structure of params). Got {type(got).__name__} instead; the parameters and "
            f"the optimizer state are unchanged.")

    cdef _flatten_group(self, Py_ssize_t gi, object item, list out, str where):
        """Put the gradients ``item`` of group ``gi`` in ``out`` (by member)."""
        cdef Py_ssize_t first, stop, i, count
        first, stop = self.groups[gi]
        count = stop - first
        cdef int kind = self.kinds[gi]
        if kind == 0:
            out[first] = item
            return
        if kind == 1:
            if not isinstance(item, (list, tuple)):
                self._structure_error(where, f"a list or tuple of {count} arrays", item)
            if len(item) != count:
                raise ValueError(
                    f"The {where!r} parameter of {self.owner._owner}.step must hold {count} "
                    f"arrays (one per array of params). Got {len(item)} instead; the "
                    f"parameters and the optimizer state are unchanged.")
            for i in range(count):
                out[first + i] = item[i]
            return
        if not isinstance(item, Mapping):
            self._structure_error(where, "a dict of arrays with the keys of params", item)
        names = self.keys[gi]
        if len(item) != count or any(key not in item for key in names):
            missing = [key for key in names if key not in item]
            extra = [key for key in item if key not in names]
            raise ValueError(
                f"The {where!r} parameter of {self.owner._owner}.step must have the keys of "
                f"params. Got missing keys {missing}, unknown keys {extra} instead; the "
                f"parameters and the optimizer state are unchanged.")
        for i in range(count):
            out[first + i] = item[names[i]]

    cdef list _flatten(self, object grads):
        """The gradient of each member (None: skipped this step)."""
        cdef list out = [None] * self.nmem
        cdef Py_ssize_t gi, ngroups = len(self.groups)
        if not self.nested:
            self._flatten_group(0, grads, out, "grad")
            return out
        if not isinstance(grads, (list, tuple)):
            self._structure_error("grad", f"a list of {ngroups} items (one per group)", grads)
        if len(grads) != ngroups:
            raise ValueError(
                f"The 'grad' parameter of {self.owner._owner}.step must hold {ngroups} items "
                f"(one per parameter group). Got {len(grads)} instead; the parameters and "
                f"the optimizer state are unchanged.")
        for gi in range(ngroups):
            if grads[gi] is not None:
                self._flatten_group(gi, grads[gi], out, f"grad[{gi}]")
        return out

    # -- the step -----------------------------------------------------------------

    def step(self, grads):
        """One step of every array given a gradient (the owner's `step`)."""
        cdef Core owner = self.owner, m, lead
        cdef long long T = owner._t + 1
        if owner._post_on:
            _refuse_post_on_segments(owner)
        if not 0 < T <= _MAX_STEPS:
            _raise_step_cap(owner._owner, T - 1)
        cdef list given = self._flatten(grads)
        cdef list gs = [None] * self.nmem
        cdef Py_ssize_t k, gi, first, stop, nseg = 0, start = 0, block = 0
        cdef double eta, lr_t, wd
        cdef int c, nsets = 1
        cdef bint any_norm = owner._h.max_grad_norm >= 0
        # The schedules, once per group (at the optimizer's step count).
        for gi in range(len(self.groups)):
            first, stop = self.groups[gi]
            lead = self.members[first]
            lr_t = lead._lr_at(T, &eta)
            wd = lead._h.weight_decay
            for k in range(first, stop):
                m = self.members[k]
                m._h.lr = lr_t
                m._h.eta = eta
                m._h.weight_decay = wd
                if lead._hyper_fns is not None:     # scheduled beta1 / momentum
                    m._h.beta1 = lead._h.beta1
                    m._h.momentum = lead._h.momentum
            c = self.clip_sets[gi]
            nsets = max(nsets, c + 1)
            if c > 0:
                self.set_max[c] = lead._h.max_grad_norm
                any_norm = any_norm or lead._h.max_grad_norm >= 0
        self.set_max[0] = owner._h.max_grad_norm
        # The gradients (converted where need be), and each view copied in.
        for k in range(self.nmem):
            if given[k] is None:
                continue
            m = self.members[k]
            if not 0 < m._t + 1 <= _MAX_STEPS:
                _raise_step_cap(owner._owner, m._t)
            if self.views[k] is not None:
                cnp.PyArray_CopyInto(m._x, self.views[k])
            try:
                gs[k] = m._gradient(given[k])
            except (TypeError, ValueError) as exc:
                self._name_array(exc, k)
        # No call into Python from here to the end of the pass.
        for k in range(self.nmem):
            if gs[k] is not None:
                (<Core>self.members[k])._recheck(gs[k])
        cdef int refused = 0
        cdef Py_ssize_t refuser = -1
        for gi in range(len(self.groups)):
            first, stop = self.groups[gi]
            for k in range(first, stop):
                if gs[k] is None:
                    continue
                refused = self._fill(k, nseg, gs[k], self.clip_sets[gi], start, block)
                start += self.segs[nseg].n
                block += (self.segs[nseg].n + NORM_BLOCK - 1) // NORM_BLOCK
                nseg += 1
                if refused:
                    refuser = k
                    break
            if refused:
                break
        cdef double* grown
        if block > self.nblocks:   # (a one-array optimizer's segments predate its bind)
            grown = <double*>realloc(self.sums, block * sizeof(double))
            if grown == NULL:
                raise MemoryError()
            self.sums, self.nblocks = grown, block
        cdef SegJob job
        job.table = _table
        job.kernel = owner._kernel
        job.segs = self.segs
        job.nseg = nseg
        job.check = owner._check_finite
        job.sums = self.sums if any_norm else NULL
        job.bad = 0
        job.chunk = start + 1
        if refused:   # a bad gradient is reported first, then the refusal
            job.sums = NULL
            if job.check:
                _seg_check_chunk(&job, 0, start)
                if job.bad:
                    self._raise_first_bad(&job, gs)
            m = self.members[refuser]
            try:
                m._raise_refused(refused, m._h.lr, m._t + 1)
            except (TypeError, ValueError) as exc:
                self._name_array(exc, refuser)
        cdef int nthreads = _num_threads if start >= THREAD_MIN_SIZE64 else 1
        cdef Py_ssize_t chunk = _chunk_size(start, nthreads)
        job.chunk = chunk
        cdef double norm = NAN
        if nseg > 0:
            if start >= NOGIL_MIN_SIZE:
                with nogil:
                    _seg_run(&job, start, chunk, nthreads, self.set_max, self.set_norm, nsets,
                             &norm)
            else:
                _seg_run(&job, start, start, 1, self.set_max, self.set_norm, nsets, &norm)
            if job.bad:   # nothing was updated
                self._raise_first_bad(&job, gs)
        elif any_norm:
            norm = 0.0
        cdef Segment* seg
        for k in range(nseg):
            seg = &self.segs[k]
            m = self.members[seg.member]
            m._after(seg.s, seg.big != 0, m._t + 1)
            if self.views[seg.member] is not None:
                cnp.PyArray_CopyInto(self.views[seg.member], m._x)
        owner._grad_norm = norm
        owner._t = T
        return owner._x if self.params is None else self.params

    cdef int _fill(self, Py_ssize_t k, Py_ssize_t i, cnp.ndarray g, int clip,
                   Py_ssize_t start, Py_ssize_t block) except -1:
        """Segment ``i``: member ``k`` with the gradient ``g``; returns
        `Core._scalars`'s refusal code."""
        cdef Core m = self.members[k]
        cdef Segment* seg = &self.segs[i]
        cdef StepScalars* s = &self.scal[i]
        cdef bint coupled = m._h.weight_decay != 0.0 and not m._h.decoupled
        cdef bint is64 = m._typenum == cnp.NPY_FLOAT64
        seg.limit = m._grad_max
        cdef int refused = m._scalars(s, &seg.flags, m._t + 1, m._h.lr, m._h.eta, coupled,
                                      &seg.limit)
        seg.x = <char*>cnp.PyArray_DATA(m._x)
        seg.g = <const char*>cnp.PyArray_DATA(g)
        seg.state[0] = _data(m._s0)
        seg.state[1] = _data(m._s1)
        seg.state[2] = _data(m._s2)
        seg.state[3] = _data(m._s3)
        seg.n = m._n
        seg.start = start
        seg.block0 = block
        seg.itemsize = 8 if is64 else 4
        seg.is64 = is64
        seg.coupled = coupled
        seg.s = s
        seg.sign = s.sign
        seg.weight_decay = m._h.weight_decay
        seg.clip = clip
        seg.member = <int>k
        seg.big = 0
        return refused

    cdef _raise_first_bad(self, const SegJob* job, list gs):
        """Raise the error of the first bad element of the first segment the
        check refuses (through its member's hook), naming its array."""
        cdef Py_ssize_t k
        cdef const Segment* seg
        cdef StepJob sj
        cdef Core m
        for k in range(job.nseg):
            seg = &job.segs[k]
            if seg.n and _seg_bad(job, seg, 0, seg.n):
                m = self.members[seg.member]
                g = gs[seg.member]
                m._start_job(&sj, g, seg.coupled, seg.limit)
                try:
                    m._raise_first_bad(g, &sj)
                except (TypeError, ValueError) as exc:
                    self._name_array(exc, seg.member)
        raise ValueError("internal error: the check failed on no segment")

    def _name_array(self, exc, Py_ssize_t k):
        """Re-raise ``exc`` (about member ``k``'s gradient) naming the array."""
        name = self.names[k]
        if name is None:
            raise exc
        raise type(exc)(f"{exc} (array {name})") from None
