"""Time one optimizer step of adamopt against its peers, side by side, in one process.

Used by ``python -m adamopt bench`` and ``benchmarks/peer_step.py``.  Peers:

* ``numpy``: a careful in-place NumPy Adam (preallocated buffers, ``out=``
  everywhere, bias corrections folded into scalars): what a user writes by hand;
* ``adamopt-1thread``: adamopt on one thread (`adamopt.set_num_threads`);
  ``adamopt`` itself uses the default number of threads;
* ``torch-fused``, ``torch-foreach``, ``torch-single``: ``torch.optim.Adam``
  with ``fused=True``, ``foreach=True`` and neither, on one thread (when
  PyTorch is installed);
* ``optax-jit``: optax's counterpart (``optax.adam`` for Adam; the table
  ``adamopt._optax.OPTAX``) under ``jax.jit``, update and apply in one
  jitted call with donated parameters and state, on one XLA thread (when JAX
  and optax are installed; float64 needs ``jax_enable_x64``, which this sets);
* ``probe``: a memory-bandwidth probe, the traffic of one step (read x, g, m,
  v; write x, m, v) with one subtraction per array, compiled like our loops
  and run on as many threads as our step uses.

Absent peers are reported as absent, never fatal.  GB/s counts the arrays
a step must touch per element (Adam: 7; the gradient check's second read of g
is not counted), so ``adamopt GB/s / probe GB/s`` is the fraction of the
attainable bandwidth that a step reaches.

``--algorithm`` times another algorithm of the family (``sgd`` with momentum
0.9, ``adagrad``, ``rmsprop``, ``adamax``, ``nadam``) against the same
algorithm of ``torch.optim`` (fused where PyTorch has it: SGD and Adagrad)
and of optax (where it has one); the NumPy peer is Adam's only.  The probe
moves 7 arrays: for an algorithm that touches fewer, "% probe" scales its
time by arrays / 7.

The implementations are timed round-robin (one repeat of each in turn) so that
a change of machine load hits them all alike; the figure is the median over
the repeats of the mean time per step within a repeat.
"""

import argparse
import datetime
import importlib.util
import json
import math
import os
import platform
import statistics
import sys
import time

import numpy as np

from . import _catalog, _kernels, _registry

LR, BETA1, BETA2, EPS = 1e-3, 0.9, 0.999, 1e-8

def _algorithms():
    """Per algorithm (every declaration with a PyTorch counterpart): (our
    class, its options, torch.optim's class name, its options, torch
    variants, arrays read or written per element by a step)."""
    out = {}
    for a in _registry.algorithms():
        if a.torch is None:
            continue
        options = dict(a.bench_options)
        variants = tuple(v for v in ("fused", "foreach", "single")
                         if v in a.torch.implementations)
        out[a.name] = (_catalog.CLASSES[a.name], options, a.torch.name,
                       a.torch.kwargs(options), variants, a.arrays_per_element)
    return out


#: The algorithms ``--algorithm`` accepts, by name (derived from the registry).
TIMED = _algorithms()


def _problem(n, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n).astype(dtype)
    g = rng.standard_normal(n).astype(dtype)
    return x, g


def make_adamopt(n, dtype, check_finite=True, algorithm="adam"):
    """adamopt's ``algorithm`` (Adam by default) on ``n`` parameters:
    (zero-argument step, parameter array)."""
    x, g = _problem(n, dtype)
    cls, options = TIMED[algorithm][:2]
    opt = cls(x, lr=LR, check_finite=check_finite, **options)
    step = opt.step
    return (lambda: step(g)), x


def make_adamopt_1thread(n, dtype, algorithm="adam"):
    """adamopt on one thread: (zero-argument step, parameter array)."""
    step, x = make_adamopt(n, dtype, algorithm=algorithm)
    if n < _kernels._thread_min_sizes()[dtype == "float32"]:
        return step, x   # one thread anyway: no switching cost in the timing

    def one_thread():
        previous = _kernels._set_num_threads(1)
        try:
            return step()
        finally:
            _kernels._set_num_threads(previous)

    return one_thread, x


def make_probe(n, dtype):
    """The memory-bandwidth probe: (zero-argument pass, first array)."""
    x, g = _problem(n, dtype)
    m, v = np.zeros_like(x), np.zeros_like(x)
    probe = _kernels._stream_probe
    return (lambda: probe(x, g, m, v)), x


def make_numpy(n, dtype):
    """A careful in-place NumPy Adam: (zero-argument step, parameter array)."""
    x, g = _problem(n, dtype)
    m, v, buf = np.zeros_like(x), np.zeros_like(x), np.empty_like(x)
    state = {"t": 0}
    mul, add, sqrt, div = np.multiply, np.add, np.sqrt, np.divide

    def step():
        state["t"] = t = state["t"] + 1
        bc1 = 1.0 - BETA1**t
        bc2_sqrt = math.sqrt(1.0 - BETA2**t)
        mul(m, BETA1, out=m)
        mul(g, 1.0 - BETA1, out=buf)
        add(m, buf, out=m)
        mul(v, BETA2, out=v)
        mul(g, g, out=buf)
        mul(buf, 1.0 - BETA2, out=buf)
        add(v, buf, out=v)
        sqrt(v, out=buf)
        add(buf, EPS * bc2_sqrt, out=buf)
        div(m, buf, out=buf)
        mul(buf, LR * bc2_sqrt / bc1, out=buf)
        np.subtract(x, buf, out=x)

    return step, x


def make_torch(n, dtype, variant, algorithm="adam"):
    """torch.optim's ``algorithm`` (Adam by default), ``variant`` in {"fused",
    "foreach", "single"}: (step, params)."""
    import torch

    torch.set_num_threads(1)
    x, g = _problem(n, dtype)
    p = torch.from_numpy(x).requires_grad_(True)
    p.grad = torch.from_numpy(g)
    kwargs = {"fused": {"fused": True}, "foreach": {"foreach": True},
              "single": {"foreach": False, "fused": False}}[variant]
    name, options, variants = TIMED[algorithm][2:5]
    if "fused" not in variants:     # torch.optim's class has no fused option
        kwargs.pop("fused", None)
    opt = getattr(torch.optim, name)([p], lr=LR, **options, **kwargs)
    return opt.step, x      # p shares memory with x


def make_optax(n, dtype, algorithm="adam"):
    """optax's ``algorithm`` (Adam by default; `adamopt._optax.OPTAX` maps our
    declarations to optax) under ``jax.jit``: (zero-argument step, parameters).

    One jitted function computes the update and applies it, with the
    parameters and the state donated (updated in place, as adamopt and PyTorch
    do; the gradient is not); the step returns once the new parameters are
    computed (``block_until_ready``).  ``step.params()`` returns them as a
    NumPy array.  float64 needs ``jax_enable_x64``, which
    `adamopt._optax.jax_setup` sets (it changes JAX only); XLA runs on one
    thread when JAX was not imported before (as the PyTorch peers).
    """
    from . import _optax

    jax = _optax.jax_setup()
    import jax.numpy as jnp
    import optax

    x, g = _problem(n, dtype)
    tx = _optax.transformation(algorithm, LR, TIMED[algorithm][1])
    grads = jnp.asarray(g)
    box = [jnp.asarray(x)]
    box.append(tx.init(box[0]))

    def update(params, state, grads):
        updates, state = tx.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    update = jax.jit(update, donate_argnums=(0, 1))

    def step():
        box[0], box[1] = update(box[0], box[1], grads)
        box[0].block_until_ready()

    step.params = lambda: np.asarray(box[0])
    return step, x


def _importable(*modules):
    """Whether every module can be imported; JAX is only looked up (not
    imported: `adamopt._optax.jax_setup` configures it before its import)."""
    try:
        for module in modules:
            if module in ("jax", "optax") and module not in sys.modules:
                if importlib.util.find_spec(module) is None:
                    return False
            else:
                __import__(module)
    except ImportError:
        return False
    return True


def peers(algorithm="adam"):
    """(name, factory) of every implementation of ``algorithm``, with None for
    absent ones."""
    a = algorithm
    out = [("adamopt", lambda n, d: make_adamopt(n, d, algorithm=a)),
           ("adamopt-nocheck", lambda n, d: make_adamopt(n, d, check_finite=False,
                                                         algorithm=a)),
           ("adamopt-1thread", lambda n, d: make_adamopt_1thread(n, d, algorithm=a))]
    if a == "adam":
        out.append(("numpy", make_numpy))
    torch = _importable("torch")
    out += [(f"torch-{v}", (lambda n, d, v=v: make_torch(n, d, v, a)) if torch else None)
            for v in TIMED[a][4]]
    from ._optax import OPTAX

    if a in OPTAX:
        out.append(("optax-jit", (lambda n, d: make_optax(n, d, a))
                    if _importable("jax", "optax") else None))
    out.append(("probe", make_probe))
    return out


def _calibrate(step, target):
    """Number of steps that take about ``target`` seconds."""
    k = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(k):
            step()
        dt = time.perf_counter() - t0
        if dt >= target / 4 or k >= 1 << 20:
            return max(1, int(k * target / max(dt, 1e-9)))
        k *= 4


def time_round_robin(steps, repeats=7, target=0.02):
    """Median seconds per call of each zero-argument callable in ``steps``."""
    counts = {name: _calibrate(step, target) for name, step in steps.items()}
    samples = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            k = counts[name]
            t0 = time.perf_counter()
            for _ in range(k):
                step()
            samples[name].append((time.perf_counter() - t0) / k)
    return {name: statistics.median(s) for name, s in samples.items()}


def run(sizes=(10, 10_000, 1_000_000, 10_000_000), dtypes=("float64", "float32"),
        repeats=7, target=0.02, out=print, algorithm="adam"):
    """Print one table per dtype: time per step and our speed-up over each peer."""
    available = peers(algorithm)
    arrays = TIMED[algorithm][5]
    missing = [name for name, f in available if f is None]
    if missing:
        out(f"absent peers (not installed): {', '.join(missing)}")
    out(f"adamopt kernel: {_kernels._kernel_name()}, threads: {_kernels._get_num_threads()} "
        f"(steps of >= {_kernels._thread_min_sizes()[0]} float64 / "
        f"{_kernels._thread_min_sizes()[1]} float32 elements)")
    rows = []
    for dtype in dtypes:
        itemsize = np.dtype(dtype).itemsize
        names = [name for name, f in available if f is not None]
        out(f"\n{dtype}: median time per {algorithm} step and peer time / adamopt time; "
            f"GB/s of {arrays} arrays per element")
        out(f"{'n':>10} " + " ".join(f"{name:>17}" for name in names)
            + f" {'GB/s':>6} {'% probe':>7}")
        for n in sizes:
            steps = {name: f(n, dtype)[0] for name, f in available if f is not None}
            times = time_round_robin(steps, repeats=repeats, target=target)
            ours = times["adamopt"]
            cells = []
            for name in names:
                cell = _fmt_time(times[name])
                if name != "adamopt":
                    cell += f" {times[name] / ours:5.1f}x"
                cells.append(f"{cell:>17}")
            gbs = arrays * itemsize * n / ours / 1e9   # Adam: read x, g, m, v; write x, m, v
            probe = times["probe"] * arrays / 7
            out(f"{n:>10} " + " ".join(cells) + f" {gbs:6.1f} {100 * probe / ours:6.0f}%")
            rows.append({"dtype": dtype, "n": n, **times})
    return rows


def _fmt_time(seconds):
    if seconds < 1e-3:
        return f"{seconds * 1e6:.2f}us"
    return f"{seconds * 1e3:.2f}ms"


def main(argv=None):
    argv = sys.argv[2:] if argv is None else list(argv)
    if "--tuning" in argv:      # the tuning benchmark has options of its own
        from . import _bench_tuning
        _bench_tuning.main([a for a in argv if a != "--tuning"])
        return
    parser = argparse.ArgumentParser(
        prog="python -m adamopt bench",
        description="Time one step of adamopt (Adam, or --algorithm) against NumPy, "
                    "PyTorch (one thread), "
                    "optax and a memory-bandwidth probe, round-robin in one process.")
    parser.add_argument("--sizes", type=int, nargs="+", metavar="N",
                        default=[10, 10_000, 1_000_000, 10_000_000],
                        help="numbers of parameters, a row each "
                             "(default 10 10000 1000000 10000000)")
    parser.add_argument("--dtypes", nargs="+", default=["float64", "float32"],
                        choices=["float64", "float32"],
                        help="dtypes of the arrays, a table each (default float64 float32)")
    parser.add_argument("--repeats", type=int, default=7,
                        help="timed repeats per peer; the median is shown (default 7)")
    parser.add_argument("--target", type=float, default=0.02,
                        help="seconds per timed repeat (default 0.02)")
    parser.add_argument("--algorithm", default="adam", choices=list(TIMED),
                        help="the algorithm to time (default adam)")
    parser.add_argument("--output", metavar="PATH", default=None,
                        help="also write the results as JSON to PATH, with the date, the "
                             "machine and the command (an existing file of this format "
                             "keeps its runs of other algorithms)")
    parser.add_argument("--structures", action="store_true",
                        help="time Adam on many arrays (1000 x 1000, 100 x 10000) against "
                             "one array and torch fused, and max_grad_norm against no "
                             "clipping, instead (adamopt._bench_groups)")
    parser.add_argument("--threads", type=int, nargs="+", metavar="K", default=[1],
                        help="with --structures: the thread counts of adamopt and PyTorch, "
                             "a table each (default 1)")
    parser.add_argument("--tuning", action="store_true",
                        help="compare tuned Adam with the tuning-free methods on six "
                             "problems instead (adamopt._bench_tuning; python -m adamopt "
                             "bench --tuning --help for its options)")
    args = parser.parse_args(argv)
    if args.structures:
        if min(args.threads) < 1:
            parser.error(f"--threads must be at least 1; got {min(args.threads)}")
        from . import _bench_groups
        _bench_groups.run(args.dtypes, args.repeats, threads=args.threads)
        return
    if min(args.sizes) < 1:
        parser.error(f"--sizes must be at least 1; got {min(args.sizes)}")
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1; got {args.repeats}")
    if not args.target > 0:
        parser.error(f"--target must be positive; got {args.target}")
    rows = run(args.sizes, args.dtypes, args.repeats, args.target, algorithm=args.algorithm)
    if args.output is not None:
        write_results(args.output, args.algorithm, rows,
                      command=["python", "-m", "adamopt", "bench", *argv])


#: The ``format`` of the JSON files `write_results` writes.
RESULTS_FORMAT = "adamopt-bench/1"


def machine():
    """A description of this machine and of the software timed, for a results file."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info
                        if line.startswith("model name")), cpu)
    except OSError:
        pass
    versions = {"python": platform.python_version(), "numpy": np.__version__}
    for module in ("torch", "jax", "optax"):
        if _importable(module):
            versions[module] = sys.modules[module].__version__
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {"cpu": cpu, "cores": os.cpu_count(), "system": platform.platform(),
            "kernel": _kernels._kernel_name(), "threads": _kernels._get_num_threads(),
            "load_average_1min": load, "versions": versions}


def write_results(path, algorithm, rows, command):
    """Write one run of `run` to the JSON file ``path``.

    The file holds ``{"format": RESULTS_FORMAT, "runs": {algorithm: run}}``;
    each run has its ``date`` (UTC, ISO 8601), ``machine`` (see `machine`),
    ``command`` and ``rows`` (dtype, n and the median seconds per step of each
    implementation).  The runs of other algorithms already in the file are kept.
    """
    runs = {}
    try:
        with open(path) as existing:
            old = json.load(existing)
        if isinstance(old, dict) and old.get("format") == RESULTS_FORMAT:
            runs = dict(old["runs"])
    except (OSError, ValueError):
        pass
    runs[algorithm] = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(), "command": " ".join(command), "rows": rows,
    }
    with open(path, "w") as out:
        json.dump({"format": RESULTS_FORMAT, "runs": runs}, out, indent=1, sort_keys=True)
        out.write("\n")
