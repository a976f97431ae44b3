"""The command line: ``python3 tools/platforms {list,run,all,ci} ...``."""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from .results import Result, format_line, format_markdown, result_from_json
from .runner import Cache, Options, default_cache, run_target
from .targets import TARGETS, Target, ci_targets, get_target

__all__ = ["main"]

PROJECT = Path(__file__).resolve().parent.parent.parent


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tools/platforms",
        description="Set up rawmmap's test platforms from Debian packages (cached) and run "
        "the suite and the probe on each. Needs root on a Debian or Ubuntu host.",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="cache directory (default: $RAWMMAP_PLATFORMS_CACHE, else "
        "/var/cache/rawmmap-platforms as root, else $XDG_CACHE_HOME)",
    )
    parser.add_argument(
        "--output", type=Path, default=None, help="where reports go (default: CACHE/results)"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    commands.add_parser("list", help="list the targets")
    commands.add_parser("table", help="print the results table of the reports in OUTPUT (no run)")
    run = commands.add_parser("run", help="run some targets")
    run.add_argument("targets", nargs="+", metavar="TARGET")
    for name, text in (("all", "run every target"), ("ci", "run the CI subset")):
        sub = commands.add_parser(name, help=text)
        sub.add_argument(
            "--markdown",
            type=Path,
            default=None,
            help="results table file (default: OUTPUT/results.md)",
        )
    for sub in commands.choices.values():
        if sub.prog.endswith(("list", "table")):
            continue
        sub.add_argument("--no-probe", action="store_true", help="run the suite only")
        sub.add_argument(
            "--pytest-args", default="tests", help='what pytest gets (default: "tests")'
        )
        sub.add_argument(
            "--timeout", type=float, default=3600.0, help="seconds per command (default 3600)"
        )
        sub.add_argument(
            "--jobs",
            type=_positive,
            default=1,
            metavar="N",
            help="targets run at once (default 1; a qemu-user guest keeps one core busy, a "
            "qemu-system guest two, so more than the cores slows each and its timings)",
        )
    return parser


def _positive(text: str) -> int:
    """argparse type: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _list() -> str:
    width = max(len(target.name) for target in TARGETS)
    return "\n".join(
        f"{target.name:<{width}}  {target.kind:<6}  {'ci ' if target.ci else '   '}"
        f"{target.description}"
        for target in TARGETS
    )


def _saved_results(directory: Path) -> list[Result]:
    """The results a run left in ``directory``, in the order of the target table."""
    order = {target.name: index for index, target in enumerate(TARGETS)}
    found = []
    for path in sorted(directory.glob("*.result.json")):
        found.append(result_from_json(json.loads(path.read_text(encoding="utf-8"))))
    return sorted(found, key=lambda result: (order.get(result.target, len(order)), result.target))


def _run(targets: Sequence[Target], options: Options, jobs: int) -> list[Result]:
    """Run ``targets``, ``jobs`` at a time; the results in the order of ``targets``.

    Each target is a tree of its own processes, and the shared parts of the
    cache (a rootfs, qemu, runsc, a kernel) are set up under file locks, so
    threads are enough to run several.
    """
    if jobs == 1:
        return [run_target(target, options) for target in targets]
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(lambda target: run_target(target, options), targets))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; 0 when every suite passed, 1 when one failed, 2 on misuse."""
    parser = _parser()
    arguments = parser.parse_args(argv)
    if arguments.command == "list":
        print(_list())
        return 0
    cache = Cache((arguments.cache or default_cache()).resolve())
    output = (arguments.output or cache.root / "results").resolve()
    if arguments.command == "table":
        found = _saved_results(output)
        if not found:
            print(f"tools/platforms: no *.result.json in {output}", file=sys.stderr)
            return 2
        print(format_markdown(found), end="")
        return 0
    try:
        if arguments.command == "run":
            targets = [get_target(name) for name in arguments.targets]
        elif arguments.command == "ci":
            targets = ci_targets()
        else:
            targets = list(TARGETS)
    except KeyError as error:
        parser.error(str(error.args[0]))
    options = Options(
        project=PROJECT,
        cache=cache,
        output=output,
        pytest_args=arguments.pytest_args.split(),
        probe=not arguments.no_probe,
        timeout=arguments.timeout,
    )
    started = time.monotonic()
    results = _run(targets, options, arguments.jobs)
    total = time.monotonic() - started
    for result in results:
        print(format_line(result))
    if arguments.command in ("all", "ci"):
        table = format_markdown(results)
        destination = arguments.markdown or output / "results.md"
        destination.write_text(table + f"\nTotal: {total:.0f} s\n", encoding="utf-8")
        (output / "results.json").write_text(
            json.dumps([result.to_json() for result in results], indent=2) + "\n",
            encoding="utf-8",
        )
        print(table)
    print(f"total {total:.0f} s; reports in {output}")
    return 1 if any(result.failed for result in results) else 0


if __name__ == "__main__":
    sys.exit(main())
