"""The ``pybpf`` command: one dispatcher, subcommands from every installed layer.

Each distribution declares its subcommands in a small module of the
``pybpf.cli`` namespace (``pybpf.cli.asm``, ``pybpf.cli.btf``, ...) and names
that module's :data:`COMMANDS` list in the ``pybpf.cli`` entry-point group of
its ``pyproject.toml``. A declaration holds the command's arguments and the
dotted name of the function that runs it, so that ``pybpf --help`` imports no
layer at all and a command imports only what it uses.

Exit status: 0 when the command did its job, 1 when it failed (one line on
stderr saying what failed and what to do; ``--debug`` shows the traceback),
2 for a usage error.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import sys

# typing costs a tenth of the start-up budget: only type checkers import it.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import NoReturn

__all__ = ["COMMAND_GROUP", "Command", "CommandError", "main"]

#: The entry-point group each distribution registers its command list in.
COMMAND_GROUP = "pybpf.cli"

#: What each distribution above pybpf-asm adds, for ``--help`` to name what is missing.
LAYER_COMMANDS: dict[str, tuple[str, ...]] = {
    "pybpf-btf": ("btf dump", "btf diff"),
    "pybpf-elf": ("object show", "prog disasm", "gen"),
    "pybpf-core": (
        "prog list",
        "prog show",
        "prog dump",
        "map list",
        "map show",
        "map dump",
        "btf list",
        "feature probe",
        "top",
    ),
    "pybpf-link": ("link list", "link show"),
}

_GROUP_HELP = {
    "asm": "raw eBPF instructions",
    "btf": "BPF Type Format",
    "object": "BPF ELF object files",
    "prog": "programs: in object files and in the kernel",
    "map": "maps in the kernel",
    "feature": "what the running kernel supports",
    "link": "links in the kernel",
}


class CommandError(Exception):
    """A command failed in a way the user can act on: ``message`` and ``hint`` are shown."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


class Command:
    """One subcommand, declared without importing what it runs.

    ``run`` is ``"module:function"``; the function takes the parsed
    arguments and returns the exit status. (A plain class: ``dataclasses``
    alone would cost a quarter of the start-up budget.)
    """

    __slots__ = ("arguments", "description", "group", "help", "name", "run")

    def __init__(
        self,
        group: str,
        name: str,
        help: str,
        run: str,
        arguments: Callable[[argparse.ArgumentParser], None] | None = None,
        *,
        description: str = "",
    ) -> None:
        #: The first word (``prog``); empty for a top-level command (``top``).
        self.group = group
        #: The second word (``disasm``), or the command itself when ``group`` is empty.
        self.name = name
        #: One line for ``--help``.
        self.help = help
        #: ``"module:function"`` run with the parsed ``argparse.Namespace``.
        self.run = run
        #: Adds the command's arguments to its parser.
        self.arguments = arguments
        #: A paragraph for the command's own ``--help``.
        self.description = description

    @property
    def words(self) -> str:
        """How the user types it: ``prog disasm``, ``top``."""
        return f"{self.group} {self.name}" if self.group else self.name

    def __repr__(self) -> str:
        return f"Command({self.words!r}, run={self.run!r})"


def _entry_points(group: str) -> list[tuple[str, str]]:
    """``(name, value)`` of each entry point in ``group``, from the installed dist-infos.

    Reads ``*.dist-info/entry_points.txt`` on ``sys.path`` directly:
    ``importlib.metadata`` (with ``email`` and ``zipfile`` behind it) would
    take more than the whole start-up budget of ``pybpf --help``.
    """
    found: dict[str, str] = {}
    header = f"[{group}]"
    for entry in sys.path:
        try:
            names = [n for n in os.listdir(entry or ".") if n.endswith(".dist-info")]
        except OSError:
            continue
        for name in sorted(names):
            try:
                with open(os.path.join(entry or ".", name, "entry_points.txt")) as f:
                    text = f.read()
            except OSError:
                continue
            section = ""
            for raw in text.splitlines():
                line = raw.strip()
                if line.startswith("["):
                    section = line
                elif section == header and "=" in line and not line.startswith(("#", ";")):
                    key, _, value = line.partition("=")
                    found.setdefault(key.strip(), value.strip())  # first on sys.path wins
    return sorted(found.items())


def installed_commands() -> list[Command]:
    """Every command the installed distributions declare, in registration order."""
    commands: list[Command] = []
    for name, value in _entry_points(COMMAND_GROUP):
        module, _, attr = value.partition(":")
        try:
            declared = getattr(importlib.import_module(module.strip()), attr.strip())
        except (ImportError, AttributeError) as e:
            print(f"pybpf: warning: commands of {name!r} unavailable: {e}", file=sys.stderr)
            continue
        commands.extend(declared)
    return commands


def _missing_layers(commands: Sequence[Command]) -> list[tuple[str, tuple[str, ...]]]:
    have = {c.words for c in commands}
    return [
        (dist, words) for dist, words in LAYER_COMMANDS.items() if not all(w in have for w in words)
    ]


def _epilog(commands: Sequence[Command]) -> str:
    width = max((len(c.words) for c in commands), default=0) + 2
    lines = ["commands:"]
    lines += [f"  {c.words:<{width}}{c.help}" for c in sorted(commands, key=lambda c: c.words)]
    missing = _missing_layers(commands)
    if missing:
        lines += ["", "more commands:"]
        for dist, words in missing:
            absent = [w for w in words if w not in {c.words for c in commands}]
            lines.append(f"  {', '.join(absent)}: added by {dist}")
    lines += ["", "Run 'pybpf COMMAND --help' for a command's options."]
    return "\n".join(lines)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: usage error: {message} (see '{self.prog} --help')\n")


def build_parser(commands: Sequence[Command], only: str | None = None) -> argparse.ArgumentParser:
    """The command line with every installed command on it.

    With ``only``, only that group's commands get their own parsers (the
    others are listed, not built): that is all one invocation parses, and
    building every parser is most of the start-up time.
    """
    parser = _Parser(
        prog="pybpf",
        description="Look at BPF object files, BTF and the BPF objects of the running kernel.",
        epilog=_epilog(commands),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    top = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    groups: dict[str, argparse._SubParsersAction[_Parser]] = {}
    for command in commands:
        if not command.group:
            sub = top.add_parser(
                command.name, help=command.help, description=command.description or command.help
            )
        else:
            if command.group not in groups:
                group = top.add_parser(command.group, help=_GROUP_HELP.get(command.group, ""))
                groups[command.group] = group.add_subparsers(
                    dest="subcommand", metavar="SUBCOMMAND", required=True, parser_class=_Parser
                )
            if only is not None and command.group != only:
                continue
            sub = groups[command.group].add_parser(
                command.name, help=command.help, description=command.description or command.help
            )
        sub.add_argument(
            "--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
        )
        if command.arguments is not None:
            command.arguments(sub)
        sub.set_defaults(run=command.run)
    return parser


def _resolve(dotted: str) -> Callable[[argparse.Namespace], int]:
    module, _, function = dotted.partition(":")
    run: Callable[[argparse.Namespace], int] = getattr(importlib.import_module(module), function)
    return run


def _hint(exc: BaseException) -> str:
    if isinstance(exc, CommandError):
        return exc.hint
    if isinstance(exc, PermissionError):
        return "run it as root (bpf(2) needs CAP_BPF and CAP_SYS_ADMIN for this)"
    if isinstance(exc, OSError) and exc.errno == errno.ENOENT:
        if exc.filename is None:  # a kernel object by id, not a path
            return "no such id: list what is there with 'pybpf prog list' or 'pybpf map list'"
        return "check the path"
    if isinstance(exc, IsADirectoryError):
        return "give a file, not a directory"
    return ""


def _report(exc: BaseException) -> None:
    message = str(exc) or type(exc).__name__
    if isinstance(exc, KeyError) and exc.args:
        message = str(exc.args[0])
    elif isinstance(exc, OSError) and exc.strerror:
        # Not "[Errno 2] ...": the message names the errno already, or should.
        message = exc.strerror
        if exc.filename is not None:
            message = f"{exc.filename}: {message}"
    # One line: a verifier log or a multi-line reason stays behind --debug.
    line = f"pybpf: error: {message.strip().splitlines()[0] if message.strip() else message}"
    hint = _hint(exc)
    if hint:
        line += f" ({hint})"
    if not hint and not isinstance(exc, CommandError):
        line += " (--debug shows where)"
    print(line, file=sys.stderr)


def _quiet_stdout() -> None:
    # The reader went away (``| head``): keep the interpreter from complaining
    # again when it flushes stdout at exit.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``pybpf``; returns the exit status (0 ok, 1 failure, 2 usage)."""
    commands = installed_commands()
    argv = sys.argv[1:] if argv is None else list(argv)
    words = [a for a in argv if not a.startswith("-")]
    chosen = words[0] if words and words[0] in {c.group for c in commands} else None
    parser = build_parser(commands, only=chosen or "")
    args = parser.parse_args(argv)
    if getattr(args, "run", None) is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return _resolve(args.run)(args)
    except BrokenPipeError:
        _quiet_stdout()
        return 0
    except KeyboardInterrupt:
        return 130
    except (OSError, ValueError, LookupError, CommandError) as exc:
        if args.debug:
            raise
        _report(exc)
        return 1


def run() -> NoReturn:
    """The console script: ``sys.exit(main())``."""
    sys.exit(main())
