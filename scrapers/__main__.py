"""`python -m scrapers <command> [options]`: the one command line of the library.

Each command's module is imported only when that command runs, so `migrate` does not pay
for the extractor's imports (docs/benchmarks.md, "Imports per task"). `<command> --help`
gives a command's options.
"""

from __future__ import annotations

import sys
from importlib import import_module

#: command -> (module with `main(argv)`, arguments put before the user's, what it does)
COMMANDS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "migrate": ("scrapers.db.migrate", ("migrate",),
                "apply pending SQL migrations (and the reader role's grants)"),
    "reader-role": ("scrapers.db.migrate", ("reader-role",),
                    "privileged step: create the analysts' read-only role, then grant it"),
    "report": ("scrapers.report", (), "summarise a nichiro_ingest run"),
    "sources": ("scrapers.sources", (), "source health; `sources enable NAME` re-enables one"),
    "reprocess": ("scrapers.reprocess", (), "re-extract stored articles from kept raw pages"),
    "export": ("scrapers.export", (), "export a date range of articles (CSV or JSON Lines)"),
    "search-index": ("scrapers.db.search", (), "write missing or stale search rows"),
    "clusters": ("scrapers.dedup.clusters", (), "assign story clusters to articles with none"),
    "relink": ("scrapers.relink", (), "re-cluster stories and re-link events, with progress"),
    "watch": ("scrapers.watch", (), "analysts' watchlists: list, add, remove"),
    "backfill": ("scrapers.backfill_cli", (),
                 "a backfill request as a run's conf; backfills' progress"),
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [f"  {name:<{width}}  {about}" for name, (_, _, about) in COMMANDS.items()]
    return ("usage: python -m scrapers <command> [options]   (<command> --help for its "
            "options)\n\ncommands:\n" + "\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(usage())
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command not in COMMANDS:
        print(f"unknown command {command!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module, before, _ = COMMANDS[command]
    sys.argv[0] = f"python -m scrapers {command}"  # argparse's prog in usage and errors
    result: int = import_module(module).main([*before, *rest])
    return result


if __name__ == "__main__":
    raise SystemExit(main())
