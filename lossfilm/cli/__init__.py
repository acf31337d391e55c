"""The ``lossfilm`` command line: subcommands, and user errors as one line.

Run ``lossfilm --help`` for the list of subcommands and ``lossfilm CMD --help``
for each one's options and defaults.

To add a command: write ``lossfilm/cli/NAME.py`` with ``add_arguments(parser)`` and
``run(args)`` (heavy layers imported inside ``run``, so ``lossfilm --help`` stays
quick) and add it to ``COMMANDS`` here.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import signal
import sys

# name -> (module under lossfilm.cli, one-line help)
COMMANDS = {
    "demo": ("demo", "the whole pipeline on the bundled digits data: train, landscape, film"),
    "train": ("train", "train the MLP and record its parameter trajectory"),
    "landscape": ("landscape", "project a trajectory on a plane and evaluate the loss grid"),
    "render": ("render", "render a scene to MP4, GIF or a PNG sequence"),
    "still": ("still", "render one frame of a scene to a PNG"),
    "line": ("line", "two trained models on one line: the loss between them and its barrier (mode connectivity)"),
    "view": ("view", "write an interactive viewer of a landscape: one offline HTML file to turn and scrub"),
    "race": ("race", "several optimizers from one start, racing down one common loss surface"),
    "classic": ("classic", "optimizers racing on a classic 2-D test function (Rosenbrock, ...) or your own"),
    "scenes": ("scenes", "list the bundled scenes and the options (--option KEY=VALUE) each takes"),
    "inspect": ("inspect", "print how an MP4, MOV, WebM, GIF, PNG or viewer HTML was made (its provenance)"),
    "reproduce": ("reproduce", "make an MP4, MOV, WebM, GIF, PNG or viewer HTML again from its provenance and cached "
                  "landscape"),
}


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C would be, so that it runs the same clean-up.

    Every ``except KeyboardInterrupt`` and ``finally`` in lossfilm (temporary
    files removed, the partial landscape saved, render workers stopped) then
    handles a ``kill`` from a job scheduler or ``docker stop`` as well.
    """


@contextlib.contextmanager
def sigterm_as_interrupt():
    """Within the block, SIGTERM raises :class:`Terminated` in the main thread.

    Only the first SIGTERM does: later ones are ignored so that the clean-up
    they interrupt can finish (a supervisor that will not wait sends SIGKILL).
    Outside the main thread, where Python cannot set handlers, nothing changes.

    Examples
    --------
    >>> with sigterm_as_interrupt():
    ...     pass  # os.kill(os.getpid(), signal.SIGTERM) here would raise Terminated
    """
    def terminate(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Terminated()

    try:
        previous = signal.signal(signal.SIGTERM, terminate)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Show each option's default, and each command's docstring as written (paragraphs, examples)."""


class _Parser(argparse.ArgumentParser):
    """argparse, with its usage errors as the one line every user error is: ``lossfilm CMD: error: ...``."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")

    def format_help(self):
        # An epilog may be a function (render's lists each scene's options): it is called only for --help,
        # so that building the parser imports no scene.
        if callable(self.epilog):
            self.epilog = self.epilog()
        return super().format_help()


def build_parser():
    parser = _Parser(
        prog="lossfilm",
        description="Films of a neural network's training run rolling down its own loss landscape.",
    )
    parser.add_argument("--debug", action="store_true", help="show full tracebacks for errors")
    parser.add_argument("--version", action="version", version=f"lossfilm {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(f"lossfilm.cli.{module_name}")
        command = sub.add_parser(
            name, help=help_text, description=module.__doc__,
            formatter_class=_HelpFormatter, epilog=getattr(module, "epilog", None),
        )
        # declared: the command's options whose text their declarations read and check (main, before run);
        # a module names them in DECLARED, or sets them in add_arguments (to keep its import light)
        command.set_defaults(run=module.run, declared=getattr(module, "DECLARED", ()))
        module.add_arguments(command)
    return parser


def _version():
    from lossfilm.format.version import __version__
    return __version__


@contextlib.contextmanager
def warnings_as_lines(command):
    """Within the block, a LossfilmWarning prints as one line, ``lossfilm CMD: warning: ...``, on stderr."""
    import warnings

    from lossfilm.format.errors import LossfilmWarning

    with warnings.catch_warnings():
        shown = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None):
            if issubclass(category, LossfilmWarning):
                print(f"lossfilm {command}: warning: {message}", file=sys.stderr)
            else:
                shown(message, category, filename, lineno, file, line)
        warnings.showwarning = show
        warnings.simplefilter("always", LossfilmWarning)
        yield


def command_line(argv):
    """The command as a shell would run it again, recorded in every output's provenance.

    Examples
    --------
    >>> command_line(["still", "-o", "a b.png"])
    "lossfilm still -o 'a b.png'"
    """
    import shlex

    return "lossfilm " + shlex.join(str(a) for a in argv)


def main(argv=None):
    """Run one command; a user error is one line on stderr and exit status 2.

    Ctrl-C exits with 130 and SIGTERM with 143 (128 + the signal), after the
    same clean-up: no temporary or half-written file is left, earlier
    outputs are untouched, and an interrupted landscape keeps its finished
    nodes for the next run. ``--debug`` shows the traceback instead.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    args.command_line = command_line(sys.argv[1:] if argv is None else argv)
    from lossfilm.format.errors import LossfilmError
    from lossfilm.format.declared.options import read_args
    try:
        with sigterm_as_interrupt(), warnings_as_lines(args.command):
            read_args(args, args.declared)
            return args.run(args) or 0
    except LossfilmError as exc:
        if args.debug:
            raise
        from lossfilm.format.provenance import printable

        # Escaped: a message may quote text from a file (a key, an option), which must not reach the terminal raw.
        print(f"lossfilm {args.command}: error: {printable(exc)}", file=sys.stderr)
        return 2
    except MemoryError:
        if args.debug:
            raise
        print(f"lossfilm {args.command}: error: out of memory; a smaller --resolution, --size, --samples or "
              "--hidden fits (the size checks estimated it would; --force skips them)", file=sys.stderr)
        return 2
    except OSError as exc:
        import errno

        # A full disk is never a bug in lossfilm, wherever the write was that met it.
        if args.debug or exc.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            raise
        from lossfilm.format.artifact import write_error

        print(f"lossfilm {args.command}: error: {write_error(exc.filename or 'a file', exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        if args.debug:
            raise
        terminated = isinstance(exc, Terminated)
        what = "terminated (SIGTERM)" if terminated else "interrupted"
        # A stage may say what it kept (the landscape: its finished nodes) in the exception's message.
        print(f"lossfilm {args.command}: {what}; {str(exc) or 'finished outputs are kept'}", file=sys.stderr)
        return 143 if terminated else 130


if __name__ == "__main__":
    sys.exit(main())
