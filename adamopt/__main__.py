"""Command line: ``python -m adamopt demo``, ``python -m adamopt bench`` and
``python -m adamopt --version``."""

import argparse
import sys

from ._version import __version__


def _parser():
    parser = argparse.ArgumentParser(prog="python -m adamopt",
                                     description="adamopt command line")
    parser.add_argument("--version", action="version", version=f"adamopt {__version__}",
                        help="print adamopt's version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{demo,bench}")
    demo = sub.add_parser(
        "demo", help="fit a softmax regression with adamopt.adamw on minibatches, "
                     "next to L-BFGS-B on the full batch, and time both",
        description="Fit a softmax regression with adamopt.adamw on minibatches and "
                    "with L-BFGS-B on the full batch; print how long each takes to come "
                    "within 1% and 0.01% of the optimum, the rest of the family on the "
                    "same fit, and the time of one step against NumPy.")
    demo.add_argument("--plot", metavar="PATH", default=None,
                      help="where to write the convergence plot when matplotlib is "
                           "installed (default: adamopt-demo.png in the current directory)")
    demo.add_argument("--no-plot", action="store_true", help="write no plot")
    demo.add_argument("--epochs", type=int, default=2,
                      help="passes over the data for AdamW and the family (default 2)")
    demo.add_argument("--samples", type=int, default=100_000, metavar="N",
                      help="training samples (default 100000; with a few thousand, "
                           "L-BFGS-B is the faster one)")
    sub.add_parser("bench", help="time one Adam step against NumPy and PyTorch, or (--tuning) "
                                 "compare tuned Adam with the tuning-free methods "
                                 "(python -m adamopt bench --help for its options)",
                   add_help=False)
    return parser


def main(argv=None):
    parser = _parser()
    args, rest = parser.parse_known_args(argv)
    if args.command == "demo":
        if rest:
            parser.error(f"unrecognized arguments: {' '.join(rest)}")
        if args.epochs < 1:
            parser.error(f"--epochs must be at least 1; got {args.epochs}")
        if args.samples < 100:
            parser.error(f"--samples must be at least 100; got {args.samples}")
        from ._demo import PLOT_FILE, run

        run(epochs=args.epochs, samples=args.samples,
            plot_path=None if args.no_plot else (args.plot or PLOT_FILE))
    else:
        from ._bench import main as bench

        bench(rest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
