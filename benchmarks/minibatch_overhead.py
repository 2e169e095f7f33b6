"""Cost of a batch drawn from ``adamopt.minibatches`` against a hand-written loop.

The hand-written loop is what a user writes without the stream::

    idx = rng.permutation(n)            # a new one each epoch
    Xb, yb = X[idx[i:i + b]], y[idx[i:i + b]]

and the stream is ``next(stream)`` of ``adamopt.minibatches(X, y,
batch_size=b, seed=0)`` (``shuffle=True``).  Both hold the batch they drew
last while they draw the next one, as the run driver does (and as ``for Xb, yb
in stream:`` does).  Each case is measured in one process, the two loops timed
round-robin (one repeat of each in turn, so that a change of machine load
hits both alike); a figure is the least over the repeats of the mean time
per batch within a repeat (on a loaded machine the least is the least
disturbed), and the ratio is the stream's over the hand-written
loop's (below 1: the stream is faster).

The rows are ``--batch-sizes`` x ``--features`` x (``X`` alone, ``X`` and
``y``), one table per ``--dtypes``; the data has ``max(16384, 4 b)`` rows.

Run: ``python benchmarks/minibatch_overhead.py [--batch-sizes 32 256 4096]
[--features 10 100 1000] [--dtypes float64 float32] [--repeats 9]``.
"""

import argparse
import time

import numpy as np

import adamopt

#: Rows of the data set, at least (4 batches of the largest size, or more).
ROWS = 16384


def data(rows, features, dtype, seed=0):
    """A seeded design matrix and target of ``dtype``."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, features)).astype(dtype)
    y = rng.standard_normal(rows).astype(dtype)
    return X, y


def hand_written(arrays, batch_size, seed=0):
    """``draw(k)``: ``k`` batches of the hand-written loop (state kept between calls)."""
    rng = np.random.default_rng(seed)
    n = arrays[0].shape[0]
    state = {"idx": rng.permutation(n), "i": 0, "last": None}
    if len(arrays) == 1:
        (X,) = arrays

        def batch(j):
            return X[j]
    else:
        X, y = arrays

        def batch(j):
            return X[j], y[j]

    def draw(k):
        idx, i, last = state["idx"], state["i"], state["last"]
        for _ in range(k):
            if i >= n:
                idx, i = rng.permutation(n), 0
            last = batch(idx[i:i + batch_size])
            i += batch_size
        state["idx"], state["i"], state["last"] = idx, i, last

    return draw


def streamed(arrays, batch_size, seed=0):
    """``draw(k)``: ``k`` batches of ``adamopt.minibatches`` (one stream throughout)."""
    stream = adamopt.minibatches(*arrays, batch_size=batch_size, seed=seed)
    state = {"last": None}

    def draw(k):
        last = state["last"]
        for _ in range(k):
            last = next(stream)
        state["last"] = last

    return draw


def _calibrate(draw, target):
    """Batches that take about ``target`` seconds."""
    k = 1
    while True:
        t0 = time.perf_counter()
        draw(k)
        dt = time.perf_counter() - t0
        if dt >= target / 4 or k >= 1 << 20:
            return max(1, int(k * target / max(dt, 1e-9)))
        k *= 4


def measure(draws, repeats=9, target=0.01):
    """Least seconds per batch (over the repeats) of each ``draw`` in ``draws``,
    timed round-robin."""
    counts = {name: _calibrate(draw, target) for name, draw in draws.items()}
    samples = {name: [] for name in draws}
    for _ in range(repeats):
        for name, draw in draws.items():
            k = counts[name]
            t0 = time.perf_counter()
            draw(k)
            samples[name].append((time.perf_counter() - t0) / k)
    return {name: min(s) for name, s in samples.items()}


def run(batch_sizes=(32, 256, 4096), features=(10, 100, 1000),
        dtypes=("float64", "float32"), repeats=9, target=0.01, out=print):
    """Print one table per dtype; return the rows (dicts)."""
    rows = []
    for dtype in dtypes:
        out(f"\n{dtype}: time per batch, shuffle=True; ratio = stream / hand-written")
        out(f"{'features':>8} {'batch':>6} {'arrays':>6} {'hand':>11} {'stream':>11} "
            f"{'ratio':>6}")
        for p in features:
            X, y = data(max(ROWS, 4 * max(batch_sizes)), p, dtype)
            for b in batch_sizes:
                for arrays, label in (((X,), "X"), ((X, y), "X, y")):
                    times = measure({"hand": hand_written(arrays, b),
                                     "stream": streamed(arrays, b)}, repeats, target)
                    ratio = times["stream"] / times["hand"]
                    out(f"{p:>8} {b:>6} {label:>6} {_fmt(times['hand']):>11} "
                        f"{_fmt(times['stream']):>11} {ratio:6.2f}")
                    rows.append({"dtype": dtype, "features": p, "batch_size": b,
                                 "arrays": label, **times, "ratio": ratio})
    return rows


def _fmt(seconds):
    if seconds < 1e-3:
        return f"{seconds * 1e6:.2f} us"
    return f"{seconds * 1e3:.3f} ms"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 256, 4096])
    parser.add_argument("--features", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--dtypes", nargs="+", default=["float64", "float32"],
                        choices=["float64", "float32"])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--target", type=float, default=0.01,
                        help="seconds per timed repeat (default 0.01)")
    args = parser.parse_args(argv)
    if min(args.batch_sizes) < 1 or min(args.features) < 1 or args.repeats < 1:
        parser.error("--batch-sizes, --features and --repeats must be at least 1")
    run(args.batch_sizes, args.features, args.dtypes, args.repeats, args.target)


if __name__ == "__main__":
    main()
