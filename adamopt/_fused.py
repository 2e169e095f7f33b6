"""What the run driver (`adamopt._minimize._loop`) hands the step's own pass.

The loop sets the post-pass stages of its optimizer's step (``Core._post``,
``adamopt/_post.pxi``) once: the projection onto the bounds, the copy of the
iterate a step starts from (the fallback of a fault) and the copy of the new
iterate handed to the objective.  An iteration then costs the step's pass, the
objective and a few Python operations, with no other pass over ``x``:

* the objective gets a copy of its own, as SciPy's methods give (it may modify
  or keep it), written by the step while the data is in cache; unless the
  objective kept a reference to it (``sys.getrefcount``: then `renew` makes a
  new one), that copy becomes the next step's ``before`` and the old
  ``before`` the next copy (`swap`): the pass only reads a ``before`` that
  already equals x (and rewrites what an objective changed in it), so the
  fallback costs a read stream, not a second copy;
* the bounds are applied in the same pass, bitwise as ``numpy.clip`` with the
  run's arrays (`pass_bounds` hands a bound that is one nonzero number for
  every element as that number, which reads no array: a tie between signed
  zeros, the only case where NumPy's array and scalar loops differ, cannot
  happen with a nonzero bound);
* the overflow of x to infinity is tested once, when the run ends (`_finish`).
"""

import numpy as np


def _one_bound(bound, infinite):
    """A bound as the pass takes it: None (every element ``infinite``), one
    number (every element the same nonzero finite number) or the array."""
    if bound is None:
        return None
    first = bound[0]
    if not (bound == first).all():
        return bound
    if first == infinite:
        return None
    if first != 0.0 and np.isfinite(first):
        return bound[:1].copy()       # one element of the bounds' dtype
    return bound


def pass_bounds(lower, upper):
    """(lower, upper) of the run as ``Core._post`` takes them (see above)."""
    return _one_bound(lower, -np.inf), _one_bound(upper, np.inf)


def renew(opt, before, fused=True):
    """A new buffer for the objective's argument (the objective kept the
    last one), set as the pass's copy-out (when the pass is ``fused``); returned."""
    arg = np.empty_like(before)
    if fused:
        opt._post_out = arg
    return arg


#: The smallest x whose loop swaps the buffers (`swap`); below, both are written.
SWAP_MIN = 4096


def swap(opt, before, arg):
    """The buffers' new roles ``(before, arg)`` after an evaluation whose
    objective did not keep ``arg``: ``arg`` holds (or, changed by the
    objective, is made by the next pass to hold) the iterate the next step
    starts from, and ``before`` receives the next copy (``Core._post_swap``)."""
    opt._post_swap()
    return arg, before


def unfused_pass(x, lower, upper, arg):
    """What the stages do, after a step that did not run them (an optimizer
    with ``_fused_pass = False``, SWATS): project x, copy it into ``arg``."""
    if lower is not None:
        np.clip(x, lower, upper, out=x)
    np.copyto(arg, x)
