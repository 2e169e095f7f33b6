"""The checkpoint file: an ``.npz`` archive written atomically, read defensively.

`write` puts a JSON header and named arrays in a NumPy ``.npz`` archive (a zip
file of stored ``.npy`` members, as `numpy.savez` writes it) through a
temporary file renamed over the checkpoint.  `Archive` reads one back without
trusting any of it: a hostile file is refused with `ValueError`, quickly and
in bounded memory, before anything is inflated or allocated on its word.

The rules a file must pass, in the order they are checked:

1. The path names a regular file: it is `os.stat`-ed before it is opened, and
   opened with ``O_NONBLOCK`` and checked again with `os.fstat`, so that a
   FIFO, a device, a socket or a directory is refused without blocking
   (a symbolic link is followed: the caller decides where links are allowed).
2. The zip directory: at most `MAX_MEMBERS` members, each named
   ``<identifier>.npy`` once, neither encrypted nor compressed other than
   with deflate, with sizes the archive can hold (a stored member is as long
   as its data; a deflated one inflates at most `DEFLATE_RATIO` times).
3. The ``header`` member: at most `HEADER_LIMIT` bytes of UTF-8 JSON, nested
   at most `JSON_DEPTH` deep (counted on the bytes before parsing), a JSON
   object with the right ``format`` and ``version``.
4. Every other member is read only if it is needed, and only after its size
   in the zip directory is checked against what it must hold: ``x``, ``jac``
   and the optimizer's arrays at most the size of an array like ``x`` (whose
   shape and dtype the caller gives, or the header), ``jac`` only when the
   header has ``fun``, ``order`` only when the header's stream says it was
   saved (and inflating at most `UNPINNED_RATIO` times).  Its ``.npy`` header
   is parsed by a strict pattern (never `ast.literal_eval`), must describe a
   plain boolean or numeric dtype (never an object array, which would need
   pickle) and exactly the bytes the member holds; only then is the array
   allocated and filled, in chunks, with the member's CRC-32 checked at its
   end.

So reading takes at most about the file's size for the header and the stream's
permutation, plus one array like ``x`` per array member, however the file was
made.
"""

import contextlib
import json
import os
import re
import signal
import stat
import sys
import tempfile
import zipfile

import numpy as np

FORMAT = "adamopt-checkpoint"
VERSION = 1

#: Most members in an archive (header, x, jac, order and the optimizer's arrays).
MAX_MEMBERS = 16
#: Largest JSON header, in bytes (a stream's position is the only large part).
HEADER_LIMIT = 16 * 2**20
#: Deepest nesting of JSON arrays and objects in the header (adamopt writes at
#: most about 50: a schedule nested 16 deep, see `_schedules.MAX_NESTING`).
JSON_DEPTH = 64
#: Largest ``.npy`` header of a member (NumPy writes 64 to 128 bytes).
NPY_HEADER_LIMIT = 4096
#: Most that deflate can inflate a byte (258-byte matches in 2 bits: 1032).
DEFLATE_RATIO = 1032
#: Most that a member whose size the header does not fix (the stream's
#: permutation) may inflate: a permutation barely compresses.
UNPINNED_RATIO = 16

_MEMBER = re.compile(r"([A-Za-z_][A-Za-z0-9_]{0,63})\.npy")
_NPY_MAGIC = b"\x93NUMPY"
_NPY_HEADER = re.compile(
    r"\{'descr': '([<>|=]?[a-zA-Z][0-9]{0,2})', 'fortran_order': (True|False), "
    r"'shape': \(([0-9, ]{0,400})\), \} *\n")
_DIMENSION = re.compile(r"[0-9]{1,19}")
#: Zip flag bits of encryption (traditional, strong, central directory).
_ENCRYPTED = 0x0001 | 0x0040 | 0x2000
_CHUNK = 2**20
# -- the header's JSON --------------------------------------------------------------


def json_depth(blob):
    """Nesting depth of JSON arrays and objects in ``blob`` (bytes), counted in
    linear time and bounded memory, without parsing.

    Brackets inside strings do not count: escaped backslashes and quotes are
    dropped first (JSON pairs escapes from the left, as `bytes.replace` does),
    then a bracket is inside a string after an odd number of quotes.  Past a
    point where the text is not JSON (a backslash outside a string) the count
    may be anything, but `json.loads` stops there.
    """
    codes = np.frombuffer(blob.replace(b"\\\\", b"").replace(b'\\"', b""), np.uint8)
    depth = top = quotes = 0
    for start in range(0, len(codes), _CHUNK):     # in chunks: bounded memory
        chunk = codes[start:start + _CHUNK]
        parity = (np.cumsum(chunk == 34, dtype=np.int64) + quotes) & 1
        steps = ((chunk == 91) | (chunk == 123)).astype(np.int64)
        steps -= (chunk == 93) | (chunk == 125)
        steps[parity == 1] = 0
        levels = np.cumsum(steps) + depth
        top, depth = max(top, int(levels.max())), int(levels[-1])
        quotes = int(parity[-1])
    return top


def encode_header(header):
    """The header as bytes; `ValueError` if it is too large or too deep to be
    read back (so that nothing is written that `Archive` would refuse)."""
    blob = json.dumps(header, sort_keys=True).encode("utf-8")
    if len(blob) > HEADER_LIMIT:
        raise ValueError(f"the checkpoint header would be {len(blob)} bytes, over the "
                         f"limit of {HEADER_LIMIT}")
    depth = json_depth(blob)
    if depth > JSON_DEPTH:
        raise ValueError(f"the checkpoint header would be nested {depth} deep, over the "
                         f"limit of {JSON_DEPTH}")
    return blob


def decode_header(blob):
    """Parse header bytes (already bounded in size); `ValueError` if they are
    not a JSON object nested at most `JSON_DEPTH` deep."""
    depth = json_depth(blob)
    if depth > JSON_DEPTH:
        raise ValueError(f"its JSON is nested {depth} deep, over the limit of {JSON_DEPTH}")
    header = json.loads(blob.decode("utf-8"))
    if not isinstance(header, dict):
        raise ValueError("its JSON is not an object")
    return header


# -- writing ---------------------------------------------------------------------------


def write(path, header, arrays):
    """Write a checkpoint atomically, with mode 0600 whatever the umask.

    The archive goes to a temporary file in the checkpoint's directory, which
    is flushed and fsynced, renamed over ``path`` with `os.replace` and the
    directory fsynced.  `os.replace` replaces whatever is at ``path`` (a
    symbolic link there is replaced, never written through).

    No interrupt leaks the temporary file or its descriptor: from `mkstemp`
    to the file object that owns the descriptor, Ctrl-C is held back
    (`_HeldInterrupt`) and raised once that object exists; from there on,
    any exception (an interrupt during the write included) closes it and
    removes the temporary file.
    """
    blob = np.frombuffer(encode_header(header), np.uint8)
    directory = os.path.dirname(os.path.abspath(path))
    f = tmp = None
    try:
        with _HeldInterrupt():
            fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp",
                                       dir=directory)
            try:
                if hasattr(os, "fchmod"):   # POSIX (mkstemp's 0600 is reduced by the umask)
                    os.fchmod(fd, 0o600)
                f = os.fdopen(fd, "wb")
            except BaseException:
                os.close(fd)
                raise
        with f:
            np.savez(f, header=blob, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if f is not None:
            f.close()
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise
    _fsync_directory(directory)


class _HeldInterrupt:
    """Hold back SIGINT for a few statements: its handler runs when the block
    ends (``KeyboardInterrupt`` by default), not inside it.

    Only in the main thread (the only one Python runs signal handlers in;
    elsewhere nothing is held).  The handler installed meanwhile holds a
    signal only while the frame that entered the block is on the stack: if
    the block is left without its exit running (which only a tracer that
    raises at any line can do), a later SIGINT gets the previous handler,
    which is put back.
    """

    def __enter__(self):
        self.owner, self.held, self.previous = sys._getframe(1), None, None
        with contextlib.suppress(ValueError, TypeError):   # not the main thread
            # (a handler installed from C, None here, could not be put back: kept)
            if signal.getsignal(signal.SIGINT) is not None:
                self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        while frame is not None and frame is not self.owner:
            frame = frame.f_back
        if frame is not None:
            self.held = (signum, frame)
            return
        signal.signal(signal.SIGINT, self.previous)   # a stale handler: the previous one
        self._deliver(signum, frame)

    def _deliver(self, signum, frame):
        if callable(self.previous):
            self.previous(signum, frame)
        elif self.previous == signal.SIG_DFL:
            signal.raise_signal(signum)

    def __exit__(self, *exc):
        if self.previous is None:
            return
        signal.signal(signal.SIGINT, self.previous)
        if self.held is not None:
            self._deliver(*self.held)


def _fsync_directory(directory):
    """Make the rename durable (POSIX; a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# -- reading ---------------------------------------------------------------------------


def kind_of(mode):
    """What a file of this `stat` mode is, for a message."""
    for test, kind in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISLNK, "a symbolic link")):
        if test(mode):
            return kind
    return "not a regular file"


class Unreadable(ValueError):
    """A file that is not a readable checkpoint (the reason is the message)."""


def open_regular(path):
    """Open a regular file for reading without ever blocking on another kind.

    Returns a binary file object; `FileNotFoundError` if there is no file,
    `Unreadable` for anything else that stops it being read.
    """
    try:
        kind = os.stat(path).st_mode
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as exc:
        raise Unreadable(f"{type(exc).__name__}: {exc}") from None
    if not stat.S_ISREG(kind):
        raise Unreadable(f"it is {kind_of(kind)}, not a regular file")
    flags = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
             | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise Unreadable(f"{type(exc).__name__}: {exc}") from None
    try:
        kind = os.fstat(fd).st_mode
        if not stat.S_ISREG(kind):   # replaced between the stat and the open
            raise Unreadable(f"it is {kind_of(kind)}, not a regular file")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


#: What zipfile raises for a damaged archive (never MemoryError or RecursionError:
#: those would mean a bound is missing, and must not be hidden).
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError,
               KeyError, IndexError, OverflowError, NotImplementedError, UnicodeError)


class Archive:
    """An open checkpoint whose zip directory and header were checked.

    ``Archive(path)`` opens the file (`open_regular`), checks the zip
    directory and reads the header (``header`` is None for an archive without
    one: an ``.npz`` of something else); `arrays` then reads the members the header
    calls for.  Use it as a context manager.  Every refusal is `Unreadable`
    (a `ValueError`) with the reason; `FileNotFoundError` if there is no file.
    """

    def __init__(self, path):
        self._file = open_regular(path)
        try:
            self._open()
        except BaseException:
            self._file.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self._file.close()

    def _open(self):
        size = os.fstat(self._file.fileno()).st_size
        try:
            self._zip = zipfile.ZipFile(self._file)
        except _ZIP_ERRORS as exc:
            raise Unreadable(f"{type(exc).__name__}: {exc}") from None
        infos = self._zip.infolist()
        if len(infos) > MAX_MEMBERS:
            raise Unreadable(f"it has {len(infos)} members, more than a checkpoint's "
                             f"{MAX_MEMBERS}")
        self.members = {}
        for info in infos:
            found = _MEMBER.fullmatch(info.filename)
            if found is None:
                raise Unreadable(f"it has a member {info.filename[:80]!r}, not an array "
                                 f"named <identifier>.npy")
            name = found.group(1)
            if name in self.members:
                raise Unreadable(f"it has two members {info.filename!r}")
            if info.flag_bits & _ENCRYPTED:
                raise Unreadable(f"its member {info.filename!r} is encrypted")
            if info.compress_type == zipfile.ZIP_STORED:
                fits = info.compress_size == info.file_size
            elif info.compress_type == zipfile.ZIP_DEFLATED:
                fits = info.file_size <= DEFLATE_RATIO * info.compress_size + 64
            else:
                raise Unreadable(f"its member {info.filename!r} is compressed with method "
                                 f"{info.compress_type} (only stored or deflated members "
                                 f"are read)")
            if not fits or info.compress_size > size or info.header_offset > size:
                raise Unreadable(f"its member {info.filename!r} declares sizes that the "
                                 f"file cannot hold ({info.compress_size} bytes stored for "
                                 f"{info.file_size}, in a file of {size})")
            self.members[name] = info
        if "header" not in self.members:    # an .npz of something else
            self.header = None
            return
        blob = self._read("header", NPY_HEADER_LIMIT + HEADER_LIMIT)
        if blob.dtype != np.uint8 or blob.ndim != 1:
            raise Unreadable(f"its header is an array of shape {blob.shape} and dtype "
                             f"{blob.dtype}, not bytes")
        try:
            self.header = decode_header(blob.tobytes())
        except (ValueError, UnicodeError) as exc:
            raise Unreadable(f"its header is unreadable: {exc}") from None

    def arrays(self, shape, dtype):
        """Read the members that the header calls for: ``{name: array}``.

        ``shape`` and ``dtype`` are those of ``x``: they bound the size of
        ``x``, ``jac`` and the optimizer's arrays.  A member that the header
        does not call for (``jac`` without ``fun``, ``order`` without a saved
        permutation) is refused unread, as is any member larger than it must be.
        """
        header = self.header
        like = int(np.prod(shape, dtype=object)) * np.dtype(dtype).itemsize
        stream = header.get("stream")
        expected = {"x": like}
        if header.get("fun") is not None:
            expected["jac"] = like
        if isinstance(stream, dict) and stream.get("order_saved") is True:
            info = self.members.get("order")
            expected["order"] = (None if info is None else
                                 UNPINNED_RATIO * info.compress_size)
        for name in self.members:
            if name not in expected and name not in ("header", "jac", "order"):
                expected[name] = like   # one of the optimizer's arrays
        unused = set(self.members) - set(expected) - {"header"}
        if unused:
            raise Unreadable(f"it has members {sorted(unused)} that its header does not "
                             f"call for")
        return {name: self._read(name, NPY_HEADER_LIMIT + limit)
                for name, limit in expected.items()
                if name in self.members and limit is not None}

    def _read(self, name, limit):
        """Read member ``name`` (bytes at most ``limit`` in the directory)."""
        info = self.members[name]
        if info.file_size > limit:
            raise Unreadable(f"its member {info.filename!r} is {info.file_size} bytes, more "
                             f"than the {limit} it can hold")
        try:
            with self._zip.open(info) as member:
                return _read_npy(member, info)
        except Unreadable:
            raise
        except _ZIP_ERRORS as exc:
            raise Unreadable(f"its member {info.filename!r} is unreadable "
                             f"({type(exc).__name__}: {exc})") from None


def _read_npy(member, info):
    """Read one ``.npy`` member whose directory entry (``info``) was checked."""
    where = f"its member {info.filename!r}"
    prefix = _read_exactly(member, 10, where)
    if prefix[:6] != _NPY_MAGIC or prefix[6] not in (1, 2, 3) or prefix[7] != 0:
        raise Unreadable(f"{where} is not a .npy array")
    if prefix[6] == 1:
        length, used = int.from_bytes(prefix[8:10], "little"), 10
    else:
        prefix += _read_exactly(member, 2, where)
        length, used = int.from_bytes(prefix[8:12], "little"), 12
    if length > NPY_HEADER_LIMIT or used + length > info.file_size:
        raise Unreadable(f"{where} has a .npy header of {length} bytes, in a member of "
                         f"{info.file_size}")
    text = _read_exactly(member, length, where).decode("latin-1")
    found = _NPY_HEADER.fullmatch(text)
    if found is None:
        raise Unreadable(f"{where} has an unreadable .npy header {text[:80]!r}")
    descr, fortran, dims = found.groups()
    if descr.lstrip("<>|=") == "O":
        raise Unreadable(f"{where} holds Python objects, which only pickle could read "
                         f"(refused: a checkpoint is read without pickle)")
    try:
        dtype = np.dtype(descr)
    except TypeError:
        raise Unreadable(f"{where} has an unknown dtype {descr!r}") from None
    if dtype.kind not in "biuf" or dtype.itemsize == 0:
        raise Unreadable(f"{where} has dtype {dtype}, not a boolean or a real number")
    dims = dims.strip().removesuffix(",")
    parts = dims.split(", ") if dims else []
    if len(parts) > 32 or not all(_DIMENSION.fullmatch(p) for p in parts):
        raise Unreadable(f"{where} has an unreadable shape ({dims[:80]})")
    shape = tuple(int(p) for p in parts)
    count = int(np.prod(shape, dtype=object))
    if count * dtype.itemsize != info.file_size - used - length:
        raise Unreadable(f"{where} declares an array of shape {shape} and dtype {dtype} "
                         f"({count * dtype.itemsize} bytes) but holds "
                         f"{info.file_size - used - length} bytes")
    array = np.empty(count, dtype)
    view = memoryview(array.view(np.uint8)) if count else memoryview(b"")
    done = 0
    while done < len(view):
        chunk = member.read(min(_CHUNK, len(view) - done))
        if not chunk:
            raise Unreadable(f"{where} ends early")
        view[done:done + len(chunk)] = chunk
        done += len(chunk)
    # zipfile checked the CRC-32 as the last byte of the member was read.
    return array.reshape(shape, order="F" if fortran == "True" else "C")


def _read_exactly(member, n, where):
    data = member.read(n)
    if len(data) != n:
        raise Unreadable(f"{where} ends early")
    return data
