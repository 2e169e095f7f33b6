"""Hostile checkpoint files: each is built here, byte by byte where it must be,
and refused with ValueError, quickly and in bounded memory (the memory cases
run in a child process under an address-space limit).  Also the file's mode,
symbolic links, other kinds of file at the path, and files of the version-1
format written before the reader was hardened."""

import contextlib
import io
import json
import os
import socket
import stat
import struct
import subprocess
import sys
import textwrap
import threading
import time
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from helpers import CHECKPOINT_X, CHECKPOINT_Y, expect, least_squares

import adamopt
from adamopt import _checkpoint, _checkpoint_file, _schedules

DATA = Path(__file__).parent / "data"
X, Y, loss = CHECKPOINT_X, CHECKPOINT_Y, least_squares


def quad(w):
    return float(w @ w), 2 * w


def resume(path, **options):
    """Resume the quadratic run of `good_file` from ``path`` (its options, such as
    ``lr``, taken from the checkpoint)."""
    return adamopt.adam(quad, np.ones(6), jac=True, maxiter=10, resume=path, **options)


@pytest.fixture
def path(tmp_path):
    return str(tmp_path / "run.ckpt")


@pytest.fixture
def good_file(tmp_path):
    """A real checkpoint of a 4-iteration run on a quadratic (no stream)."""
    good = str(tmp_path / "good.ckpt")
    adamopt.adam(quad, np.ones(6), jac=True, maxiter=4, lr=0.1, checkpoint=good)
    return good


# -- building archives ------------------------------------------------------------------


def npy(array):
    """The bytes of ``array`` as a .npy file."""
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def members(checkpoint):
    """``{member name: raw .npy bytes}`` of a real checkpoint."""
    with zipfile.ZipFile(checkpoint) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def header_member(header):
    """The header member's bytes: a dict as JSON, or raw JSON bytes."""
    blob = header if isinstance(header, bytes) else json.dumps(header).encode()
    return npy(np.frombuffer(blob, np.uint8))


def stored(data):
    return {"data": data, "method": 0, "crc": zlib.crc32(data), "size": len(data)}


def write_zip(target, entries):
    """Write a zip file of ``entries``: ``[(name, entry, flags)]`` where entry is
    a dict with the member's bytes as they go in the file (``data``), its
    ``method`` (0 stored, 8 deflated), ``crc`` and uncompressed ``size``.
    Written by hand so that a test controls every field (no zip64)."""
    body, directory = bytearray(), bytearray()
    for name, entry, flags in entries:
        raw = name.encode()
        fields = struct.pack("<HHHHHIII", 20, flags, entry["method"], 0, 0, entry["crc"],
                             len(entry["data"]), entry["size"])
        offset = len(body)
        body += b"PK\x03\x04" + fields + struct.pack("<HH", len(raw), 0) + raw + entry["data"]
        directory += (b"PK\x01\x02" + struct.pack("<H", 20) + fields
                      + struct.pack("<HHHHHII", len(raw), 0, 0, 0, 0, 0, offset) + raw)
    end = b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, len(entries), len(entries),
                                      len(directory), len(body), 0)
    Path(target).write_bytes(bytes(body + directory + end))


def rebuilt(source, target, *, replace=None, add=(), flags=None, header=None):
    """Write ``target``: the members of checkpoint ``source`` stored again, with
    ``replace`` ({name: entry}), ``add`` ([(name, entry)]), ``flags``
    ({name: bits}) and ``header`` (a dict or JSON bytes) changed."""
    entries = []
    for name, data in members(source).items():
        entry = stored(data)
        if header is not None and name == "header.npy":
            entry = stored(header_member(header))
        entry = (replace or {}).get(name, entry)
        entries.append((name, entry, (flags or {}).get(name, 0)))
    entries += [(name, entry, 0) for name, entry in add]
    write_zip(target, entries)


def read_header(checkpoint):
    return _checkpoint.read(checkpoint, "test")[0]


def refused(path, *patterns, **options):
    """Resume from ``path``: assert ValueError matching ``patterns`` within 2 s."""
    began = time.perf_counter()
    with pytest.raises(ValueError, match=expect("'resume'", *patterns)):
        resume(path, **options)
    assert time.perf_counter() - began < 2.0


# -- memory: in a child under an address-space limit ------------------------------------------


CHILD = textwrap.dedent("""
    import resource, sys, time
    import numpy as np
    import adamopt

    def vm_bytes():
        with open("/proc/self/status") as f:
            return next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmSize:"))

    def quad(w):
        return float(w @ w), 2 * w

    x0 = np.ones(int(sys.argv[2]))
    adamopt.adam(quad, x0.copy(), jac=True, maxiter=1, lr=0.1)    # warm: threads, caches
    headroom = int(sys.argv[3])
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    soft = vm_bytes() + headroom
    resource.setrlimit(resource.RLIMIT_AS,
                       (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))
    began = time.perf_counter()
    try:
        adamopt.adam(quad, x0, jac=True, maxiter=10, lr=0.1, resume=sys.argv[1])
        outcome = "resumed"
    except BaseException as exc:
        outcome = type(exc).__name__ + ": " + str(exc)[:300]
    print(round(time.perf_counter() - began, 3), outcome, flush=True)
""")

#: What the child may allocate beyond its size at the limit's setting (the
#: hostile files below would need 1 GiB to 8 TiB).
HEADROOM = 200 * 2**20

needs_proc = pytest.mark.skipif(not os.path.exists("/proc/self/status"),
                                reason="reads the address-space size from /proc")


def resume_in_child(tmp_path, checkpoint, n=6):
    """Resume from ``checkpoint`` in a child limited to HEADROOM more memory:
    ``(seconds the refusal took, "ExceptionName: message")``."""
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    root = str(Path(adamopt.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join([root, env.get("PYTHONPATH", "")])
    done = subprocess.run([sys.executable, str(script), checkpoint, str(n), str(HEADROOM)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    seconds, outcome = done.stdout.strip().split(" ", 1)
    return float(seconds), outcome


def deflated_zeros(prefix, blocks, block=2**24):
    """A raw deflate stream of ``prefix`` and ``blocks * block`` zero bytes,
    built from two compressed blocks (independent after a full flush)."""
    zeros = bytes(block)
    first = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = first.compress(prefix + zeros) + first.flush(zlib.Z_FULL_FLUSH)
    again = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = again.compress(zeros) + again.flush(zlib.Z_FULL_FLUSH)
    tail = zlib.compressobj(9, zlib.DEFLATED, -15).flush()
    crc = zlib.crc32(prefix)
    for _ in range(blocks):
        crc = zlib.crc32(zeros, crc)
    return {"data": head + body * (blocks - 1) + tail, "method": 8, "crc": crc,
            "size": len(prefix) + blocks * block}


def npy_prefix(shape, dtype):
    """The .npy header alone of an array of ``shape`` and ``dtype``."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": np.dtype(dtype).str, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


@needs_proc
@pytest.mark.parametrize("member", ["junk.npy", "m.npy"])
def test_zip_bomb_is_refused_from_its_directory_in_bounded_memory(good_file, path, tmp_path,
                                                                  member):
    # A member inflating to 1 GiB in a file of about 1 MB: an unused one, or
    # one the run needs (the first moment), both larger than an array like x.
    bomb = deflated_zeros(npy_prefix((2**27,), np.float64), 64)
    if member == "junk.npy":
        rebuilt(good_file, path, add=[(member, bomb)])
    else:
        rebuilt(good_file, path, replace={member: bomb})
    assert os.path.getsize(path) < 2 * 2**20
    seconds, outcome = resume_in_child(tmp_path, path)
    assert outcome.startswith("ValueError:"), outcome
    assert "more than" in outcome
    assert seconds < 2.0


@needs_proc
def test_member_declaring_an_8_tib_array_is_refused_in_bounded_memory(good_file, path,
                                                                       tmp_path):
    prefix = npy_prefix((2**40,), np.float64)
    rebuilt(good_file, path, replace={"m.npy": stored(prefix + bytes(48))})
    assert os.path.getsize(path) < 4096
    seconds, outcome = resume_in_child(tmp_path, path)
    assert outcome.startswith("ValueError:"), outcome
    assert "declares an array" in outcome
    assert seconds < 2.0


@needs_proc
def test_header_inflating_past_its_limit_is_refused_in_bounded_memory(good_file, path,
                                                                      tmp_path):
    # 64 MiB of JSON spaces, deflated to about 64 KB.
    text = b"{" + b" " * 2**26 + b"}"
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    prefix = npy_prefix((len(text),), np.uint8)
    bomb = {"data": packer.compress(prefix + text) + packer.flush(), "method": 8,
            "crc": zlib.crc32(prefix + text), "size": len(prefix) + len(text)}
    rebuilt(good_file, path, replace={"header.npy": bomb})
    seconds, outcome = resume_in_child(tmp_path, path)
    assert outcome.startswith("ValueError:"), outcome
    assert "header" in outcome
    assert seconds < 2.0


# -- the zip directory ----------------------------------------------------------------------


def test_encrypted_member_is_refused(good_file, path):
    rebuilt(good_file, path, flags={"x.npy": 0x1})
    refused(path, "not a readable", "'x.npy' is encrypted")


@pytest.mark.parametrize(("change", "pattern"), [
    ({"add": [("x.npy", None)]}, "two members 'x.npy'"),
    ({"add": [("../evil.npy", None)]}, "not an array named"),
    ({"add": [("notes.txt", None)]}, "not an array named"),
    ({"add": [(f"a{k}.npy", None) for k in range(16)]}, "more than a checkpoint's 16"),
    ({"add": [("jac2.npy", "bzip2")]}, "compressed with method 12"),
    ({"add": [("order.npy", None)]}, "does not call for"),
], ids=["duplicate", "path", "not-npy", "too-many", "bzip2", "unused-order"])
def test_archive_directory_that_no_checkpoint_has_is_refused(good_file, path, change,
                                                             pattern):
    extra = []
    for name, kind in change["add"]:
        entry = stored(npy(np.zeros(6)))
        if kind == "bzip2":
            entry = {**entry, "method": 12}
        extra.append((name, entry))
    rebuilt(good_file, path, add=extra)
    refused(path, "not a readable", pattern)


def test_stored_member_longer_than_its_data_is_refused(good_file, path):
    data = npy(np.zeros(6))
    rebuilt(good_file, path, replace={"m.npy": {**stored(data), "size": 2**31}})
    refused(path, "not a readable", "sizes that the file cannot hold")


def test_deflated_member_inflating_more_than_deflate_can_is_refused(good_file, path):
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = npy(np.zeros(6))
    entry = {"data": packer.compress(data) + packer.flush(), "method": 8,
             "crc": zlib.crc32(data), "size": 2**31}
    rebuilt(good_file, path, replace={"m.npy": entry})
    refused(path, "not a readable", "sizes that the file cannot hold")


# -- the .npy headers -------------------------------------------------------------------------


def _data_offset(checkpoint, name):
    """Where the bytes of member ``name`` start in the file."""
    with zipfile.ZipFile(checkpoint) as archive:
        start = archive.getinfo(name).header_offset
    blob = Path(checkpoint).read_bytes()
    name_length, extra_length = struct.unpack("<HH", blob[start + 26:start + 30])
    return start + 30 + name_length + extra_length


@pytest.mark.parametrize("bit", range(16))
def test_one_bit_flipped_in_a_npy_header_length_is_refused(good_file, path, bit):
    blob = bytearray(Path(good_file).read_bytes())
    at = _data_offset(good_file, "x.npy") + 8 + bit // 8     # the 2-byte length field
    blob[at] ^= 1 << (bit % 8)
    Path(path).write_bytes(bytes(blob))
    refused(path, "not a readable", "'x.npy'")


@pytest.mark.parametrize(("header", "pattern"), [
    (b"{'descr': '<f8', 'fortran_order': False, 'shape': (6,), 'x': __import__('os'), }",
     "unreadable .npy header"),
    (b"{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (6,), }",
     "unreadable .npy header"),
    (b"{'descr': '<c16', 'fortran_order': False, 'shape': (6,), }", "not a boolean or a real"),
    (b"{'descr': '<f8', 'fortran_order': False, 'shape': (" + b"1, " * 40 + b"6), }",
     "unreadable shape"),
    (b"{'descr': '<f8', 'fortran_order': False, 'shape': (-6,), }", "unreadable"),
], ids=["code", "structured", "complex", "many-dimensions", "negative"])
def test_npy_header_outside_the_strict_form_is_refused(good_file, path, header, pattern):
    text = header + b" " * (63 - (len(header) + 10) % 64) + b"\n"
    prefix = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text
    rebuilt(good_file, path, replace={"m.npy": stored(prefix + bytes(48))})
    refused(path, "not a readable", pattern)


def test_object_array_member_is_refused_as_needing_pickle(good_file, path):
    prefix = npy_prefix((6,), object)
    rebuilt(good_file, path, replace={"m.npy": stored(prefix + bytes(48))})
    refused(path, "not a readable", "pickle")


def test_member_shorter_than_its_array_is_refused(good_file, path):
    data = npy(np.zeros(6))[:-8]
    rebuilt(good_file, path, replace={"m.npy": stored(data)})
    refused(path, "not a readable", "declares an array")


# -- the JSON header ------------------------------------------------------------------------


def test_deeply_nested_json_header_is_refused(good_file, path):
    deep = b'{"format": "adamopt-checkpoint", "version": 1, "stream": ' + \
        b"[" * 100_000 + b"]" * 100_000 + b"}"
    rebuilt(good_file, path, header=deep)
    refused(path, "not a readable", "nested 100001 deep")


def test_brackets_inside_json_strings_do_not_count_as_nesting(good_file, path):
    header = read_header(good_file)
    header["note"] = "[" * 1000 + '\\"{' * 100
    rebuilt(good_file, path, header=header)
    assert resume(path).nit == 10


def test_header_that_is_not_a_json_object_is_refused(good_file, path):
    rebuilt(good_file, path, header=b"[1, 2]")
    refused(path, "not a readable", "not an object")


def test_schedule_entry_without_its_config_is_refused(good_file, path):
    header = read_header(good_file)
    header["callables"] = {"lr": {"type": "CosineAnnealing"}}
    rebuilt(good_file, path, header=header)
    refused(path, "bad 'callables' entry")


@pytest.mark.parametrize("stored_type", [["CosineAnnealing"], {"a": 1}, 3])
def test_schedule_entry_with_a_type_that_is_not_a_name_is_refused(good_file, path,
                                                                  stored_type):
    header = read_header(good_file)
    header["callables"] = {"lr": {"type": stored_type, "config": {}}}
    rebuilt(good_file, path, header=header)
    refused(path, "bad 'callables' entry")


def _joins(depth):
    """The stored form of a Join nested ``depth`` deep."""
    leaf = {"type": "Constant", "config": {"value": 1.0}}
    node = leaf
    for _ in range(depth):
        node = {"type": "Join", "config": {"schedules": [node, leaf], "boundaries": [5]}}
    return node


def _with_lr(good_file, stored_lr):
    header = read_header(good_file)
    header["callables"] = {"lr": stored_lr}
    return header


def test_300_deep_schedule_config_is_refused(good_file, path):
    blob = json.dumps(_with_lr(good_file, _joins(300))).encode()   # deeper than json.dumps
    rebuilt(good_file, path, header=blob)
    refused(path, "not a readable", "nested")


def test_schedule_config_past_the_schedules_own_limit_is_refused(good_file, path):
    header = _with_lr(good_file, _joins(_schedules.MAX_NESTING // 2 + 1))
    assert _checkpoint_file.json_depth(json.dumps(header).encode()) <= \
        _checkpoint_file.JSON_DEPTH
    rebuilt(good_file, path, header=header)
    refused(path, "Join", "nest schedules and lists at most")


def test_schedule_config_that_its_constructor_refuses_is_a_value_error(good_file, path):
    header = _with_lr(good_file, {"type": "CosineAnnealing",
                                  "config": {"T_max": "ten", "eta_min": 0.0, "eta_max": 1.0}})
    rebuilt(good_file, path, header=header)
    refused(path, "CosineAnnealing", "cannot be rebuilt", "TypeError")


def test_from_config_refuses_a_deep_configuration_without_recursing():
    with pytest.raises(ValueError, match="at most 32 deep"):
        adamopt.Join.from_config(_joins(300)["config"])


def test_from_config_refuses_deep_lists_without_recursing():
    deep = []
    for _ in range(300):
        deep = [deep]
    config = {"schedules": deep, "boundaries": []}
    with pytest.raises(ValueError, match="at most 32 deep"):
        adamopt.Join.from_config(config)


def test_schedule_too_deep_to_read_back_is_not_stored(path):
    lr = adamopt.Constant(0.1)
    for _ in range(_schedules.MAX_NESTING // 2 + 1):
        lr = adamopt.Join([lr, adamopt.Constant(0.1)], boundaries=[5])
    adamopt.adam(quad, np.ones(6), jac=True, maxiter=3, lr=lr, checkpoint=path)
    assert read_header(path)["callables"] == {"lr": None}
    with pytest.raises(ValueError, match=expect("'lr'", "again")):
        adamopt.adam(quad, np.ones(6), jac=True, maxiter=10, resume=path)
    assert adamopt.adam(quad, np.ones(6), jac=True, maxiter=6, lr=lr, resume=path).nit == 6


@pytest.mark.parametrize(("key", "value", "pattern"), [
    ("plateau", [10**400, 0, 1.0, 0], "'plateau'"),
    ("plateau", [1.0, 0, float("nan"), 0], "'plateau'"),
    ("fun", 10**400, "'evaluation'"),
    ("fun", "1.0", "'evaluation'"),
    ("nit", 2**64, "'nit'"),
    ("nit", -1, "'nit'"),
    ("shape", [2**70], "x of unknown shape"),
    ("dtype", "|O", "x of unknown shape"),
    ("method", ["adam"], "of method"),
])
def test_header_entry_of_the_wrong_kind_is_a_value_error(good_file, path, key, value,
                                                         pattern):
    header = read_header(good_file)
    header[key] = value
    rebuilt(good_file, path, header=json.dumps(header).encode())
    refused(path, pattern)


@pytest.mark.parametrize(("entry", "value", "pattern"), [
    (("optimizer", "beta1"), "0.9", r"'beta1' .* Got '0\.9' \(str\)"),
    (("optimizer", "lr"), [0.1], r"'lr' .* Got \[0\.1\]"),
    (("optimizer", "eps"), {"value": 1e-8}, r"'eps' .* Got \{'value': 1e-08\}"),
    (("optimizer", "weight_decay"), "none", r"'weight_decay' .* Got 'none' \(str\)"),
    (("optimizer", "amsgrad"), "yes", r"'amsgrad' .* Got 'yes' \(str\)"),
    (("optimizer", "maximize"), 0.5, r"'maximize' .* Got 0\.5"),
    (("optimizer", "t"), "4", r"'t' entry .* Got '4' \(str\)"),
])
def test_optimizer_entry_of_the_wrong_type_is_a_value_error(good_file, path, entry, value,
                                                            pattern):
    """A header value of the wrong type (a string where a number is expected)
    is refused as the file's fault: ValueError naming the entry and the value."""
    header = read_header(good_file)
    header[entry[0]][entry[1]] = value
    rebuilt(good_file, path, header=header)
    refused(path, "wrong type", pattern)


@pytest.mark.parametrize(("entry", "value", "pattern"), [
    ("epoch", "0", r"'epoch' entry .* Got '0' \(str\)"),
    ("next", [4], r"'next' entry .* Got \[4\]"),
])
def test_stream_entry_of_the_wrong_type_is_a_value_error(path, tmp_path, entry, value,
                                                         pattern):
    """The same for the stream's position."""
    def stream():
        return adamopt.minibatches(X, Y, batch_size=16, seed=5)
    adamopt.adam(loss, np.zeros(6), jac=True, maxiter=3, batches=stream(), checkpoint=path)
    header = read_header(path)
    header["stream"][entry] = value
    broken = str(tmp_path / "broken.ckpt")
    rebuilt(path, broken, header=header)
    with pytest.raises(ValueError, match=expect("'resume'", "wrong type", pattern)):
        adamopt.adam(loss, np.zeros(6), jac=True, maxiter=5, batches=stream(), resume=broken)


def test_sgd_entry_of_the_wrong_type_is_a_value_error(path, tmp_path):
    """And for another method's own hyperparameters (SGD's momentum)."""
    adamopt.sgd(quad, np.ones(6), jac=True, maxiter=4, lr=0.1, momentum=0.5, checkpoint=path)
    header = read_header(path)
    header["optimizer"]["momentum"] = "0.5"
    broken = str(tmp_path / "broken.ckpt")
    rebuilt(path, broken, header=header)
    with pytest.raises(ValueError, match=expect("'resume'", "wrong type", "'momentum'",
                                                r"'0\.5' \(str\)")):
        adamopt.sgd(quad, np.ones(6), jac=True, maxiter=10, resume=broken)


def test_generator_state_with_an_integer_beyond_its_dtype_is_a_value_error(path, tmp_path):
    def stream():
        return adamopt.minibatches(X, Y, batch_size=16,
                                   seed=np.random.Generator(np.random.MT19937(5)))
    adamopt.adam(loss, np.zeros(6), jac=True, maxiter=3, batches=stream(), checkpoint=path)
    header = read_header(path)
    header["stream"]["rng"]["state"]["key"]["data"][0] = 2**80
    broken = str(tmp_path / "broken.ckpt")
    rebuilt(path, broken, header=header)
    with pytest.raises(ValueError, match=expect("'resume'", "bad stream position")):
        adamopt.adam(loss, np.zeros(6), jac=True, maxiter=5, batches=stream(), resume=broken)


def test_writing_refuses_a_header_it_could_not_read_back(path):
    with pytest.raises(ValueError, match="over the limit of 64"):
        _checkpoint.write(path, {"format": "adamopt-checkpoint", "deep": _joins(40)}, {})
    assert not os.path.exists(path)


# -- what is at the path ------------------------------------------------------------------


def _make(kind, where):
    """Put a ``kind`` of file at ``where``; return what to clean up."""
    if kind == "fifo":
        os.mkfifo(where)
    elif kind == "directory":
        os.mkdir(where)
    elif kind == "socket":
        server = socket.socket(socket.AF_UNIX)
        server.bind(where)
        return server
    return None


KINDS = [pytest.param(kind, marks=pytest.mark.skipif(
    not hasattr(os, "mkfifo" if kind == "fifo" else "getuid"), reason="POSIX"))
    for kind in ("fifo", "directory", "socket")]


def _unblock_after(seconds, fifo):
    """If a reader is stuck opening ``fifo``, open it for writing after
    ``seconds`` (so that a regression fails the test instead of hanging it)."""
    def unblock():
        with contextlib.suppress(OSError):  # no reader waiting: nothing to unblock
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    timer = threading.Timer(seconds, unblock)
    timer.start()
    return timer


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("how", ["resume=True", "resume=path"])
def test_resume_from_a_file_that_is_not_regular_is_refused_without_blocking(path, kind,
                                                                            how):
    server = _make(kind, path)
    timer = _unblock_after(10.0, path) if kind == "fifo" else None
    began = time.perf_counter()
    try:
        options = ({"checkpoint": path, "resume": True} if how == "resume=True"
                   else {"resume": path})
        with pytest.raises(ValueError, match=expect(kind if kind != "fifo" else "FIFO")):
            adamopt.adam(quad, np.ones(6), jac=True, maxiter=3, **options)
    finally:
        if timer is not None:
            timer.cancel()
        if server is not None:
            server.close()
    assert time.perf_counter() - began < 2.0


@pytest.mark.skipif(not os.path.exists("/dev/null"), reason="POSIX")
def test_resume_from_a_device_is_refused():
    with pytest.raises(ValueError, match=expect("'resume'", "a character device")):
        adamopt.adam(quad, np.ones(6), jac=True, maxiter=3, resume="/dev/null")


@pytest.mark.parametrize("kind", KINDS)
def test_checkpoint_path_that_is_not_a_regular_file_is_refused_before_the_run(path, kind):
    server = _make(kind, path)
    calls = []
    try:
        with pytest.raises(ValueError, match=expect("'checkpoint'", "is a")):
            adamopt.adam(lambda w: (calls.append(1), quad(w))[1], np.ones(6), jac=True,
                         maxiter=3, checkpoint=path)
    finally:
        if server is not None:
            server.close()
    assert calls == []
    assert not stat.S_ISREG(os.lstat(path).st_mode)


# -- symbolic links -------------------------------------------------------------------------

needs_symlinks = pytest.mark.skipif(not hasattr(os, "symlink") or sys.platform == "win32",
                                    reason="symbolic links")


@needs_symlinks
@pytest.mark.parametrize("target_exists", [True, False])
def test_symlinked_checkpoint_path_is_refused_before_the_run(good_file, tmp_path,
                                                             target_exists):
    target = good_file if target_exists else str(tmp_path / "missing.ckpt")
    link = str(tmp_path / "link.ckpt")
    os.symlink(target, link)
    before = Path(good_file).read_bytes()
    calls = []
    with pytest.raises(ValueError, match=expect("'checkpoint'", "symbolic link",
                                                "the path it points to")):
        adamopt.adam(lambda w: (calls.append(1), quad(w))[1], np.ones(6), jac=True,
                     maxiter=3, checkpoint=link)
    assert calls == []
    assert os.path.islink(link)
    assert Path(good_file).read_bytes() == before


@needs_symlinks
def test_resume_true_with_a_symlinked_checkpoint_is_refused(good_file, tmp_path):
    link = str(tmp_path / "link.ckpt")
    os.symlink(good_file, link)
    with pytest.raises(ValueError, match=expect("'checkpoint'", "symbolic link")):
        adamopt.adam(quad, np.ones(6), jac=True, maxiter=10, checkpoint=link, resume=True)
    assert os.path.islink(link)


@needs_symlinks
def test_resume_from_a_symlinked_file_reads_its_target(good_file, tmp_path, path):
    link = str(tmp_path / "link.ckpt")
    os.symlink(good_file, link)
    through_link = resume(link, checkpoint=path)
    direct = resume(good_file)
    assert through_link.x.tobytes() == direct.x.tobytes()
    assert os.path.islink(link)


# -- the file's mode --------------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "fchmod"), reason="POSIX modes")
@pytest.mark.parametrize("umask", [0o000, 0o022, 0o077, 0o277])
def test_checkpoint_is_written_with_mode_0600_whatever_the_umask(path, umask):
    previous = os.umask(umask)
    try:
        adamopt.adam(quad, np.ones(6), jac=True, maxiter=3, checkpoint=path)
        first = stat.S_IMODE(os.stat(path).st_mode)
        adamopt.adam(quad, np.ones(6), jac=True, maxiter=6, checkpoint=path, resume=True)
    finally:
        os.umask(previous)
    assert first == stat.S_IMODE(os.stat(path).st_mode) == 0o600


# -- files that must still be read ----------------------------------------------------------


def test_version_1_checkpoint_written_before_the_hardening_still_resumes(tmp_path):
    # tests/data/checkpoint_v1.npz: adamw, amsgrad, lr = 0.05 * CosineWarmRestarts(10, 2),
    # 9 iterations on minibatches (batch_size=16, seed=3) of X, Y above, written by
    # commit 7e5d545 (before this reader).
    def stream():
        return adamopt.minibatches(X, Y, batch_size=16, seed=3)
    options = {"jac": True, "maxiter": 20, "patience": 1000, "gtol": 0}
    whole = adamopt.adamw(loss, np.zeros(6), batches=stream(), amsgrad=True,
                          lr=0.05 * adamopt.CosineWarmRestarts(10, 2), **options)
    copy = str(tmp_path / "v1.ckpt")
    Path(copy).write_bytes((DATA / "checkpoint_v1.npz").read_bytes())
    resumed = adamopt.adamw(loss, np.zeros(6), batches=stream(), resume=copy, **options)
    # The file's 9 iterations were computed on another machine, whose BLAS
    # (the loss's products) may round its last bits differently from this one's:
    # the resumed run ends where the whole run does, to those last bits.
    assert resumed.nit == whole.nit == 20
    np.testing.assert_allclose(resumed.x, whole.x, rtol=1e-12, atol=0)


def test_checkpoint_compressed_with_savez_compressed_is_read(good_file, path):
    header, arrays = _checkpoint.read(good_file, "test")
    blob = np.frombuffer(json.dumps(header).encode(), np.uint8)
    with open(path, "wb") as f:
        np.savez_compressed(f, header=blob, **arrays)
    assert resume(path).x.tobytes() == resume(good_file).x.tobytes()
