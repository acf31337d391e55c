"""The ``lossfilm`` command line: subcommands, and user errors as one line.

Run ``lossfilm --help`` for the list of subcommands and ``lossfilm CMD --help``
for each one's options and defaults.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# name -> (module under lossfilm.commands, one-line help)
COMMANDS = {
    "demo": ("demo", "the whole pipeline on the bundled digits data: train, landscape, film"),
    "train": ("train", "train the MLP and record its parameter trajectory"),
    "landscape": ("landscape", "project a trajectory on a plane and evaluate the loss grid"),
    "render": ("render", "render a scene to MP4, GIF or a PNG sequence"),
    "still": ("still", "render one frame of a scene to a PNG"),
}


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Show each option's default, and each command's docstring as written (paragraphs, examples)."""


def build_parser():
    parser = argparse.ArgumentParser(
        prog="lossfilm",
        description="Films of a neural network's training run rolling down its own loss landscape.",
    )
    parser.add_argument("--debug", action="store_true", help="show full tracebacks for errors")
    parser.add_argument("--version", action="version", version=f"lossfilm {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(f"lossfilm.commands.{module_name}")
        command = sub.add_parser(
            name, help=help_text, description=module.__doc__,
            formatter_class=_HelpFormatter,
        )
        module.add_arguments(command)
        command.set_defaults(run=module.run)
    return parser


def _version():
    from lossfilm import __version__
    return __version__


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    from lossfilm.errors import LossfilmError
    try:
        return args.run(args) or 0
    except LossfilmError as exc:
        if args.debug:
            raise
        print(f"lossfilm {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if args.debug:
            raise
        print(f"lossfilm {args.command}: interrupted; finished outputs are kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
