"""Durable checkpoints of a SciPy-method run: write atomically, read safely, resume.

A checkpoint holds everything the run loop of `adamopt._minimize` needs to
continue bitwise identically: the iterate ``x``, the optimizer state
(`state_dict`), the evaluation ``(fun, jac)`` at ``x``, the plateau test's
state, the counts ``nit``, ``nfev`` and ``njev`` of the run since its fresh
start, and the position of the minibatch stream.  It is written only at the
end of an iteration, where no batch has been drawn ahead (so there is never a
pending batch to store).

File format (version 1): a NumPy ``.npz`` archive (a zip file; each member
carries a CRC-32 that is checked when it is read) with

``header``
    A ``uint8`` array: UTF-8 JSON with ``format`` (``"adamopt-checkpoint"``),
    ``version`` (1), ``method``, ``algorithm``, ``dtype``, ``shape``, ``nit``,
    ``nfev``, ``njev``, ``optimizer`` (the scalar entries of the optimizer's
    state dict: ``t`` and the numeric hyperparameters), ``callables`` (for
    ``lr`` and ``schedule`` when they were callables: their stored
    configuration, or null when they cannot be stored and must be passed
    again), ``fun`` (the objective at ``x``, or null), ``plateau`` and
    ``stream`` (the stream's position without its permutation, with
    ``order_saved`` when it has one, or null).
``x``, ``jac``, ``order`` and the optimizer's arrays
    Plain numeric arrays: the iterate, the gradient at ``x`` (when ``fun`` is
    known), the stream's permutation (when it has one), and every array of the
    optimizer's state dict under its own name (Adam's ``m``, ``v``, ``vmax``;
    SGD's ``momentum_buffer``; Adagrad's ``sum``; ...), each at most the
    size of ``x``.

Members are stored (as `numpy.savez` writes them; deflated ones, as
`numpy.savez_compressed` writes them, are read too), at most 16 of them.

The archive is read by `adamopt._checkpoint_file`, never by `numpy.load`:
loading never runs code (no pickle), and a hostile file is refused with
`ValueError` quickly and in bounded memory.  The zip directory and the header
are checked before anything is inflated, the header is checked against the run
(method, shape and dtype of ``x``) before any array is read, and only the
members the header calls for are read, each at most the size of an array like
``x0`` (the stream's permutation: at most about the file's size).  Every value
is then checked before the run uses it.

The file at the path:

* is written atomically: the archive goes to a temporary file in the
  checkpoint's directory, which is flushed and fsynced, renamed over the
  checkpoint with `os.replace` (atomic on POSIX and Windows), and the
  directory is fsynced.  A process killed at any instant leaves the previous
  checkpoint or the new one, never a mixture (at worst a stray temporary
  ``.<name>.*.tmp`` beside it).
* has mode 0600 (read and write for its owner only) whatever the umask: it
  holds the run's parameters.  Each write is a new file, so a mode changed by
  hand does not survive the next write.
* must be a regular file or nothing: a directory, FIFO, socket or device at
  the ``checkpoint`` path is refused before the run, and ``resume`` refuses
  to read one (checked with `os.stat` before opening, and opened with
  ``O_NONBLOCK``, so a FIFO never blocks the run).
* may not be a symbolic link: a link at the ``checkpoint`` path is refused
  before the run, with ``resume=True`` too (give the path it points to).
  Following it would let a link planted in a shared directory turn the
  run's writes onto any file its user can write; replacing it (what
  `os.replace` does) would silently detach the link, leaving its target
  stale while later runs read from it.  A file given as ``resume=path``,
  which the run only reads, may be a link: it is followed (the target must be
  a regular file).  Directories on the way to the path may be links.  A link
  put at the path after the check is replaced by the next write, never
  written through.
"""

import contextlib
import math
import numbers
import os
import stat
import tempfile
from collections.abc import Mapping

import numpy as np

from . import _checkpoint_file as _file
from . import _plateau, _registry, _schedules
from . import _validation as check
from ._checkpoint_file import FORMAT, VERSION
from ._optimizers import own_state_dict

#: Storable callable hyperparameters (``lr``, ``schedule``), by type name:
#: ``name -> (class, from_config)``.  A registered object has a ``to_config()``
#: method returning a JSON-able dict, and ``from_config(dict)`` rebuilds it.
#: adamopt's own schedule objects register here; other callables are not
#: stored and must be passed again when a run resumes.
STORABLE_CALLABLES: dict[str, tuple] = {}


def register_storable(cls, from_config=None):
    """Register ``cls`` (with a ``to_config()`` method) as storable in checkpoints."""
    STORABLE_CALLABLES[cls.__name__] = (cls, from_config or cls.from_config)
    return cls


for _cls in _schedules._BY_NAME.values():     # adamopt's own schedules are storable
    register_storable(_cls)

#: Names of the archive's own arrays (the optimizer's arrays take any other name).
_RESERVED = frozenset({"header", "x", "jac", "order"})

#: Hyperparameters that may be callables (stored when they are storable schedules).
_CALLABLE_NAMES = _registry.CALLABLE


# -- options -------------------------------------------------------------------


def check_path(value, name, owner):
    """None, or a file path (str or os.PathLike) returned as a str."""
    if value is None:
        return None
    if isinstance(value, (str, os.PathLike)):
        path = os.fspath(value)
        if isinstance(path, str) and path and "\0" not in path:
            return path
    raise check._fail(TypeError if not isinstance(value, (str, os.PathLike)) else ValueError,
                      name, owner, "a file path (str or os.PathLike) or None", value)


def check_resume(value, name, owner):
    """False, True (the 'checkpoint' file if it exists) or a file path."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if value is None:
        return False
    if isinstance(value, (str, os.PathLike)):
        return check_path(value, name, owner)
    raise check._fail(TypeError, name, owner,
                      "a bool or the path of a checkpoint file", value)


def check_every(value, name, owner):
    """An integer >= 1."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise check._fail(TypeError, name, owner, "an integer >= 1", value)
    if value < 1:
        raise check._fail(ValueError, name, owner, "an integer >= 1", value)
    return int(value)


def _restorable(batches):
    return (batches is None or (callable(getattr(batches, "state_dict", None))
                                and callable(getattr(batches, "load_state_dict", None))))


# -- the file (see `_checkpoint_file`) --------------------------------------------------


def _to_json(value):
    """JSON-able copy of a bit generator state (arrays become tagged lists)."""
    if isinstance(value, dict):
        return {key: _to_json(item) for key, item in value.items()}
    if isinstance(value, np.ndarray):
        return {"__array__": value.dtype.str, "data": value.tolist()}
    if isinstance(value, np.integer):
        return int(value)
    return value


def _from_json(value):
    if isinstance(value, dict):
        if set(value) == {"__array__", "data"}:
            dtype = np.dtype(value["__array__"])
            if dtype.kind not in "iub":
                raise ValueError(f"unexpected array dtype {dtype} in a generator state")
            return np.array(value["data"], dtype=dtype)
        return {key: _from_json(item) for key, item in value.items()}
    return value


def write(path, header, arrays):
    """Write a checkpoint atomically, mode 0600 (see `_checkpoint_file.write`)."""
    _file.write(path, header, arrays)


def _unreadable(where, path, reason):
    return ValueError(f"{where}: {path!r} is not a readable adamopt checkpoint ({reason}).")


def _open(path, where):
    """The checked `_checkpoint_file.Archive` of ``path``, its header of this
    format and version; `ValueError` for anything else."""
    try:
        archive = _file.Archive(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"{where}: no checkpoint file {path!r}.") from None
    except _file.Unreadable as exc:
        raise _unreadable(where, path, exc) from None
    header = archive.header
    if header is None or header.get("format") != FORMAT:
        archive.close()
        raise ValueError(f"{where}: {path!r} is not an adamopt checkpoint.")
    if header.get("version") != VERSION:
        archive.close()
        raise ValueError(f"{where}: {path!r} is a checkpoint of format version "
                         f"{check.show(header.get('version'))}; this adamopt reads version "
                         f"{VERSION}.")
    return archive


def _arrays(archive, where, path, shape, dtype):
    try:
        return archive.arrays(shape, dtype)
    except _file.Unreadable as exc:
        raise _unreadable(where, path, exc) from None


def _like_x(header):
    """The shape and dtype of ``x`` that the header declares, or None."""
    shape, dtype = header.get("shape"), header.get("dtype")
    if not (isinstance(shape, list) and len(shape) <= 32
            and all(_count(n) and n < 2**62 for n in shape)
            and dtype in ("<f4", "<f8", ">f4", ">f8")):
        return None
    return tuple(shape), np.dtype(dtype)


def read(path, where):
    """Return ``(header, arrays)`` of a checkpoint file, checked for format and
    version, its arrays bounded by the size of ``x`` that its header declares;
    `ValueError` for anything that is not a readable checkpoint."""
    with _open(path, where) as archive:
        like = _like_x(archive.header)
        if like is None:
            raise _unreadable(where, path, "its header has no valid 'shape' and 'dtype'")
        return archive.header, _arrays(archive, where, path, *like)


# -- the run's side ------------------------------------------------------------------


def _check_checkpoint_path(path, owner):
    """Refuse, before the run, a 'checkpoint' path that cannot be written: in no
    directory, unwritable, or where something other than a regular file is
    (a directory, a FIFO, a socket, a device, or a symbolic link, which is
    refused rather than followed or replaced: see the module docstring)."""
    directory = os.path.dirname(os.path.abspath(path))
    problem = None
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        problem = f"cannot be examined ({exc.strerror or exc})"
        mode = None
    if problem is not None:
        pass
    elif mode is not None and stat.S_ISLNK(mode):
        problem = ("is a symbolic link (a checkpoint is written only to a regular file; "
                   f"give the path it points to, {os.path.realpath(path)!r}, instead)")
    elif mode is not None and not stat.S_ISREG(mode):
        problem = f"is {_file.kind_of(mode)}"
    elif not os.path.isdir(directory):
        problem = f"is in {directory!r}, which is not a directory"
    else:
        try:    # found before the run, not at its first checkpoint
            fd, probe = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.",
                                         suffix=".tmp", dir=directory)
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            problem = f"cannot be written ({exc.strerror or exc})"
    if problem is not None:
        raise ValueError(f"The 'checkpoint' option of {owner} must be a file path that "
                         f"can be written. Got {path!r}, which {problem}.")


class Saver:
    """Writes the checkpoints of one run (created by `_minimize` before its loop)."""

    def __init__(self, path, every, owner, opt, x, plateau, batches, calls, kwargs):
        if not _restorable(batches):
            raise ValueError(
                f"The 'batches' option of {owner} must be able to save its position "
                f"(adamopt.minibatches(...), or an iterator with state_dict() and "
                f"load_state_dict()) when the 'checkpoint' option is given. Got "
                f"{check.show(batches)} instead."
            )
        _check_checkpoint_path(path, owner)
        self.path, self.every, self.owner = path, every, owner
        self.opt, self.x, self.plateau, self.batches, self.calls = (
            opt, x, plateau, batches, calls)
        self.callables = {}
        for name in _CALLABLE_NAMES:
            value = kwargs.get(name)
            if callable(value):
                self.callables[name] = _callable_config(value)
        # (a ReduceOnPlateau changes as the run goes: stored again at each write)
        self.changing = {name: kwargs[name] for name in self.callables
                         if _plateau.find(kwargs[name])}
        self.last = None
        try:    # what a write needs must be storable: found now, not mid-run
            _file.encode_header({"callables": self.callables,
                                 "stream": self._stream_state()[0]})
        except (TypeError, ValueError, RecursionError) as exc:
            raise ValueError(f"The 'batches' option of {owner} has a position that a "
                             f"checkpoint cannot store ({exc}).") from None

    def _stream_state(self):
        """The stream's position for the header (JSON-able) and its permutation."""
        if self.batches is None:
            return None, None
        stream = dict(self.batches.state_dict())
        order = None
        if "order" in stream:   # stored as an array; "order_saved" says if it was None
            order = stream.pop("order")
            stream["order_saved"] = order is not None
            order = None if order is None else np.asarray(order)
        return _to_json(stream), order

    def due(self, nit):
        return nit % self.every == 0 and nit != self.last

    def save(self, nit, evaluation):
        """Write the state at the end of iteration ``nit`` (total count)."""
        opt, x = self.opt, self.x
        state = own_state_dict(opt)     # (written before the next step: no copies)
        arrays = {key: state.pop(key) for key in list(state)
                  if isinstance(state[key], np.ndarray)}
        clash = _RESERVED.intersection(arrays)
        if clash:
            raise RuntimeError(f"optimizer state arrays {sorted(clash)} clash with the "
                               f"checkpoint's own arrays")
        arrays["x"] = x
        fun = None
        if evaluation is not None and evaluation[2] == opt.t:
            fun = float(evaluation[0])
            arrays["jac"] = np.asarray(evaluation[1], dtype=x.dtype)
        stream, order = self._stream_state()
        if order is not None:
            arrays["order"] = order
        for name, value in self.changing.items():
            self.callables[name] = _callable_config(value)
        header = {
            "format": FORMAT, "version": VERSION, "method": self.owner,
            "algorithm": state.get("algorithm"), "dtype": x.dtype.str, "shape": list(x.shape),
            "nit": int(nit), "nfev": int(self.calls[0]), "njev": int(self.calls[1]),
            "optimizer": state, "callables": self.callables, "fun": fun,
            "plateau": list(self.plateau.state), "stream": stream,
        }
        stationarity = getattr(self, "stationarity", None)
        if stationarity is not None:     # the stationarity test's verdict
            header["stationarity"] = list(stationarity.verdict)
        write(self.path, header, arrays)
        self.last = nit

    def finish(self, nit, status, evaluation, pending):
        """Write the final state of a run, unless it ended on a fault (the last
        checkpoint, before the fault, stays) or mid-evaluation."""
        if (status not in (4, 5) and pending is None and evaluation is not None
                and evaluation[2] == self.opt.t and nit != self.last):
            self.save(nit, evaluation)


def _real(value):
    return isinstance(value, (numbers.Real, np.floating, np.integer)) and not isinstance(
        value, (bool, np.bool_))


def _count(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)) \
        and value >= 0


def _as_float(value):
    """A real number as a float, or None (also for an integer beyond the float
    range, which no run writes)."""
    if not _real(value):
        return None
    try:
        return float(value)
    except OverflowError:
        return None


def _not_nan(value):
    number = _as_float(value)
    return number is not None and not math.isnan(number)


def check_run_state(state, x, where, callable_names):
    """Check the pieces of a run state (a result's ``state``, or one read from a
    checkpoint) that the run loop uses as they are; raise a `ValueError`
    (`TypeError` for a wrong type) naming the piece.

    The one check of these pieces: `load` builds the state of a checkpoint and
    checks it here, as `_minimize` does for a ``state`` option."""
    optimizer = state["optimizer"]
    if not isinstance(optimizer, Mapping):
        raise TypeError(f"{where} must have an 'optimizer' entry as saved by the method "
                        f"(a mapping). Got {check.show(optimizer)} instead.")
    evaluation = state["evaluation"]
    if evaluation is not None and not (
            isinstance(evaluation, (tuple, list)) and len(evaluation) == 2
            and _as_float(evaluation[0]) is not None and isinstance(evaluation[1], np.ndarray)
            and evaluation[1].shape == x.shape and evaluation[1].dtype == x.dtype):
        raise ValueError(f"{where} must have an 'evaluation' entry None or (fun, jac) with "
                         f"jac an array like x ({check.show(x)}). Got "
                         f"{check.show(evaluation)} instead.")
    plateau = state["plateau"]
    if not (isinstance(plateau, (tuple, list)) and len(plateau) == 4
            and _not_nan(plateau[0]) and _count(plateau[1]) and _not_nan(plateau[2])
            and _count(plateau[3])):
        raise ValueError(f"{where} must have a 'plateau' entry (average, count, best, "
                         f"since) as saved by the method. Got {check.show(plateau)} instead.")
    callables = state["callables"]
    if not (isinstance(callables, (tuple, list))
            and all(isinstance(c, str) and c in callable_names for c in callables)):
        raise ValueError(f"{where} must have a 'callables' entry naming some of "
                         f"{list(callable_names)}. Got {check.show(callables)} instead.")


def _callable_config(value):
    """The stored form of a callable hyperparameter, or None if it cannot be stored
    (nor read back: a configuration is stored only if it rebuilds)."""
    entry = STORABLE_CALLABLES.get(type(value).__name__)
    if entry is None or type(value) is not entry[0]:
        return None
    if isinstance(value, _schedules.Schedule):
        if not _schedules.storable(value):
            return None     # e.g. a product with a schedule of the user's own class
        config = value.to_config()
        try:                # e.g. nested deeper than a checkpoint reads back
            entry[1](config)
        except ValueError:
            return None
    else:
        config = value.to_config()
    return {"type": type(value).__name__, "config": config}


class Resumed:
    """What a checkpoint gives the run: a ``state`` mapping in the form of a
    result's ``state``, the counts, the stored callables and the stream
    position; ``where`` names the option and the file (for messages)."""

    def __init__(self, state, x, nit, nfev, njev, given, stream, where=""):
        self.state, self.x, self.nit, self.nfev, self.njev = state, x, nit, nfev, njev
        self.given, self.stream, self.where = given, stream, where


@contextlib.contextmanager
def entries_of(resumed):
    """Where the run builds its optimizer and stream from ``resumed`` (a
    `Resumed`, or None): a `TypeError` raised there is a header entry of the
    wrong type (the run's own options were checked before), so it becomes a
    `ValueError` naming the file, the entry and its value (the checks'
    message names the entry and the value)."""
    if resumed is None:
        yield
        return
    try:
        yield
    except TypeError as exc:
        raise ValueError(f"{resumed.where} has an entry of the wrong type (a corrupted "
                         f"file?): {exc}") from None


def start(run, owner, x, given):
    """Return what the ``resume`` option resumes from (`Resumed`), or None for a
    fresh run (``resume=False``, or ``True`` and no checkpoint file yet).

    With ``resume=True`` the 'checkpoint' path is checked as the run will write
    it (no symbolic link, FIFO, ...) before anything is read from it."""
    resume = run["resume"]
    if resume is False:
        return None
    if run["state"] is not None:
        raise ValueError(f"The 'state' and 'resume' options of {owner} cannot be given "
                         f"together: 'state' continues a result, 'resume' a checkpoint file.")
    if resume is True:
        path = run["checkpoint"]
        if path is None:
            raise ValueError(f"The 'resume' option of {owner} is True, which resumes from "
                             f"the 'checkpoint' file, but no 'checkpoint' is given.")
        _check_checkpoint_path(path, owner)
        if not os.path.lexists(path):
            return None
    else:
        path = resume
    return load(path, owner, x, run["batches"], given)


def load(path, owner, x, batches, given):
    """Read and check a checkpoint for a run of ``owner`` from ``x`` (x0).

    The header is checked against the run (method, shape and dtype of ``x``)
    before any array is read, and the arrays are then bounded by ``x``'s size."""
    where = f"The 'resume' option of {owner}"
    with _open(path, where) as archive:
        header = archive.header
        if header.get("method") != owner:
            raise ValueError(f"{where}: the checkpoint {path!r} is of a run of method "
                             f"{check.show(header.get('method'))}, not {owner!r}.")
        like = _like_x(header)
        if like != (x.shape, x.dtype):
            saved = ("x of unknown shape and dtype" if like is None else
                     f"x of array of shape {like[0]} and dtype {like[1]}")
            raise ValueError(f"{where}: the checkpoint {path!r} is for {saved}; x0 is "
                             f"{check.show(x)}.")
        arrays = _arrays(archive, where, path, x.shape, x.dtype)
    return _resumed(header, arrays, f"{where}: the checkpoint {path!r}", owner, x, batches,
                    given)


def _resumed(header, arrays, where, owner, x, batches, given):
    """The `Resumed` of a checkpoint's header and arrays (``where`` names the file)."""
    saved_x = arrays.get("x")
    if not (isinstance(saved_x, np.ndarray) and saved_x.dtype == x.dtype
            and saved_x.shape == x.shape):
        raise ValueError(f"{where} is for x of {check.show(saved_x)}; x0 is "
                         f"{check.show(x)}.")
    if not np.isfinite(saved_x).all():
        raise ValueError(f"{where} holds a non-finite x (a corrupted file?).")
    counts = {}
    for key in ("nit", "nfev", "njev"):
        value = header.get(key)
        if not (_count(value) and isinstance(value, int) and value < 2**63):
            raise ValueError(f"{where} has a bad {key!r} count ({check.show(value)}).")
        counts[key] = value
    optimizer = header.get("optimizer")
    if not isinstance(optimizer, dict) or any(k in optimizer for k in arrays):
        raise ValueError(f"{where} has no optimizer state.")
    optimizer = {**optimizer,
                 **{k: v for k, v in arrays.items() if k not in _RESERVED}}
    fun = header.get("fun")
    evaluation = None if fun is None else (fun, arrays.get("jac"))
    plateau = header.get("plateau")
    callables = header.get("callables")
    if not (isinstance(callables, dict) and all(
            name in _CALLABLE_NAMES and (stored is None or (
                isinstance(stored, dict) and set(stored) == {"type", "config"}
                and isinstance(stored["type"], str)))
            for name, stored in callables.items())):
        raise ValueError(f"{where} has a bad 'callables' entry ({check.show(callables)}): "
                         f"a mapping of {list(_CALLABLE_NAMES)} to null or "
                         f"{{'type': name, 'config': ...}}.")
    state = {
        "method": owner, "optimizer": optimizer, "x": saved_x, "evaluation": evaluation,
        "batch": None, "plateau": tuple(plateau) if isinstance(plateau, list) else plateau,
        "callables": tuple(callables), "stationarity": header.get("stationarity"),
    }
    check_run_state(state, x, where, _CALLABLE_NAMES)
    if evaluation is not None:
        state["evaluation"] = (float(fun), evaluation[1])
    return Resumed(state, saved_x, counts["nit"], counts["nfev"], counts["njev"],
                   _rebuild_callables(callables, where, given),
                   _stream(header.get("stream"), arrays, where, owner, batches), where)


def _rebuild_callables(callables, where, given):
    """The stored callables that the run is not given again, rebuilt."""
    rebuilt = {}
    for name, stored in callables.items():
        if name in given or stored is None:
            continue
        entry = STORABLE_CALLABLES.get(stored["type"])
        if entry is None:
            raise ValueError(f"{where} stores the {name!r} callable as "
                             f"{check.show(stored)}, which this adamopt cannot rebuild: "
                             f"pass {name} again in the options.")
        try:
            rebuilt[name] = entry[1](stored["config"])
        except Exception as exc:    # a configuration from a file: any refusal is its fault
            raise ValueError(f"{where} stores a {stored['type']} as {name!r} that cannot "
                             f"be rebuilt ({type(exc).__name__}: {exc}).") from exc
    return rebuilt


def _stream(stream, arrays, where, owner, batches):
    """The stream position to restore (None without a stream)."""
    if (stream is None) != (batches is None):
        hint = ("none" if stream is None else
                "the same batches again (a new stream over the same data, same seed)")
        raise ValueError(f"{where} was written by a run "
                         f"{'without' if stream is None else 'with'} a 'batches' option; "
                         f"pass {hint}.")
    if stream is None:
        return None
    if not _restorable(batches):
        raise ValueError(f"The 'batches' option of {owner} must be able to restore its "
                         f"position (adamopt.minibatches(...)) to resume from a "
                         f"checkpoint. Got {check.show(batches)} instead.")
    try:
        stream = _from_json(stream)
        if "order_saved" in stream:
            stream["order"] = arrays.get("order") if stream.pop("order_saved") else None
    except (TypeError, ValueError, AttributeError, OverflowError) as exc:
        raise ValueError(f"{where} has a bad stream position ({exc}).") from None
    return stream
