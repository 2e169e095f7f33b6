"""Command line: ``python -m adamopt demo`` and ``python -m adamopt bench``."""

import argparse
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m adamopt",
                                     description="adamopt command line")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="fit a logistic regression with AdamW on minibatches")
    sub.add_parser("bench", help="time one Adam step against NumPy and PyTorch",
                   add_help=False)
    args, rest = parser.parse_known_args(argv)
    if args.command == "demo":
        if rest:
            parser.error(f"unrecognized arguments: {' '.join(rest)}")
        from ._demo import run

        run()
    else:
        from ._bench import main as bench

        bench(rest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
