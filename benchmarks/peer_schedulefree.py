"""Time one step of schedule-free AdamW and SGD against Adam and SGD with
momentum (the same run) and against the reference package ``schedulefree``
(``AdamWScheduleFree``, ``SGDScheduleFree``, single-tensor, train mode), all on
one thread.

Usage::

    python benchmarks/peer_schedulefree.py [--sizes 10000 1000000 10000000]

Needs PyTorch and ``schedulefree`` (``pip install --no-deps schedulefree``).
Prints the median time per step of each and the ratios: schedule-free AdamW
over Adam (same seven array passes), schedule-free SGD over SGD with momentum,
and the PyTorch reference over ours.  Run it on a quiet machine.
"""

import argparse
import contextlib
import io
import statistics
import time

import numpy as np

import adamopt


def _median_step(step, n, repeats=5):
    count = max(3, int(2e7 // n))
    step()
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(count):
            step()
        samples.append((time.perf_counter() - t0) / count)
    return statistics.median(samples)


def _row(n, dtype):
    import schedulefree
    import torch
    rng = np.random.default_rng(0)
    g = (rng.standard_normal(n) * 1e-3).astype(dtype)
    out = {}
    for label, cls, options in [("adam", adamopt.Adam, dict(lr=1e-3)),
                                ("sf_adamw", adamopt.ScheduleFreeAdamW, {}),
                                ("sgd_momentum", adamopt.SGD, dict(lr=1e-3, momentum=0.9)),
                                ("sf_sgd", adamopt.ScheduleFreeSGD, dict(lr=1e-3))]:
        opt = cls(rng.standard_normal(n).astype(dtype), **options)
        out[label] = _median_step(lambda opt=opt: opt.step(g), n)
    for label, tcls in [("torch_sf_adamw", schedulefree.AdamWScheduleFree),
                        ("torch_sf_sgd", schedulefree.SGDScheduleFree)]:
        p = torch.nn.Parameter(torch.from_numpy(rng.standard_normal(n).astype(dtype)))
        p.grad = torch.from_numpy(g.copy())
        topt = tcls([p], lr=1e-3, foreach=False)
        with contextlib.redirect_stdout(io.StringIO()):   # (it prints the mode switch)
            topt.train()
        out[label] = _median_step(topt.step, n)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000, 10_000_000])
    parser.add_argument("--dtypes", nargs="+", default=["float64", "float32"],
                        choices=["float64", "float32"])
    args = parser.parse_args(argv)
    import torch
    torch.set_num_threads(1)
    adamopt.set_num_threads(1)
    print("dtype          n      Adam   SF-AdamW  ratio |  SGD-mom     SF-SGD  ratio | "
          "torch SF-AdamW/ours  SF-SGD/ours")
    for dtype in args.dtypes:
        for n in args.sizes:
            r = {k: v * 1e6 for k, v in _row(n, np.dtype(dtype)).items()}
            adamw, sgd = r["sf_adamw"] / r["adam"], r["sf_sgd"] / r["sgd_momentum"]
            torch_adamw = r["torch_sf_adamw"] / r["sf_adamw"]
            torch_sgd = r["torch_sf_sgd"] / r["sf_sgd"]
            print(f"{dtype:8} {n:>9} {r['adam']:9.1f} {r['sf_adamw']:9.1f} {adamw:6.2f} | "
                  f"{r['sgd_momentum']:8.1f} {r['sf_sgd']:9.1f} {sgd:6.2f} | "
                  f"{torch_adamw:18.1f}  {torch_sgd:11.1f}   (us per step)", flush=True)


if __name__ == "__main__":
    main()
