"""``python -m bench [http] [lifecycles] [sweep] [standing] [growth] [memory] [options]``: run the named benchmarks (every one by default).

Each benchmark measures its baseline in the same run and prints a ratio against it. Options take
the ``--name=value`` form (``python -m bench growth --large=200000``); each module's ``main`` lists
its own (``python -m bench http --help``). ``make bench BENCH="growth --quick"`` runs the same.
Figures: ``docs/performance.md``.

Options every benchmark takes:

  --quick        a smoke run: fewer requests, smaller large sizes
  --pg           on PostgreSQL: a throwaway server for the run (``scripts/with-postgres``, durable
                 commits), a database on it for the engine and another for the bare baseline
                 (default: SQLite files in a temporary folder)

Options of ``http`` and ``lifecycles``:

  --workers=N    serve the engine and the bare baseline with gunicorn, N worker processes each
                 (``arbitration serve --workers N``; default: one waitress process, as
                 ``arbitration serve`` runs)

Examples: ``make bench BENCH="http --pg --quick"``, ``python -m bench http lifecycles --workers=2``.
"""

from __future__ import annotations

import sys

from bench import databases, growth, http_cost, lifecycles, memory, standing, sweep

BENCHMARKS = {
    "http": http_cost.main,
    "lifecycles": lifecycles.main,
    "sweep": sweep.main,
    "standing": standing.main,
    "growth": growth.main,
    "memory": memory.main,
}
SERVED_BY_WORKERS = ("http", "lifecycles")  # the benchmarks that take --workers


def main(argv: list[str]) -> None:
    names = [arg for arg in argv if not arg.startswith("-")]
    options = [arg for arg in argv if arg.startswith("-")]
    if ("-h" in options or "--help" in options) and not names:
        print(__doc__)
        return
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        sys.exit(f"unknown benchmark {', '.join(unknown)}; choose from: {', '.join(BENCHMARKS)}")
    chosen = names or list(BENCHMARKS)
    served = [name for name in chosen if name not in SERVED_BY_WORKERS]
    if any(option.startswith("--workers") for option in options) and served:
        sys.exit(
            f"--workers is for {' and '.join(SERVED_BY_WORKERS)} only, not {', '.join(served)}"
        )
    databases.run_under_postgres_if_asked(argv)
    print(f"database: {databases.describe()}", flush=True)
    for name in chosen:
        print(f"== {name}", flush=True)
        BENCHMARKS[name](options)


if __name__ == "__main__":
    main(sys.argv[1:])
