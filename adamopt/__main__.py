"""Command line: ``python -m adamopt demo`` and ``python -m adamopt bench``."""

import argparse
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m adamopt",
                                     description="adamopt command line")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo", help="fit a softmax regression with adamopt.adamw on minibatches, "
                     "next to L-BFGS-B")
    demo.add_argument("--plot", metavar="PATH", default=None,
                      help="where to write the convergence plot when matplotlib is "
                           "installed (default: adamopt-demo.png in the current directory)")
    demo.add_argument("--no-plot", action="store_true", help="write no plot")
    demo.add_argument("--epochs", type=int, default=20,
                      help="passes over the data for AdamW (default 20)")
    sub.add_parser("bench", help="time one Adam step against NumPy and PyTorch",
                   add_help=False)
    args, rest = parser.parse_known_args(argv)
    if args.command == "demo":
        if rest:
            parser.error(f"unrecognized arguments: {' '.join(rest)}")
        if args.epochs < 1:
            parser.error(f"--epochs must be at least 1; got {args.epochs}")
        from ._demo import PLOT_FILE, run

        run(epochs=args.epochs,
            plot_path=None if args.no_plot else (args.plot or PLOT_FILE))
    else:
        from ._bench import main as bench

        bench(rest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
