"""``python -m bench [http] [lifecycles] [sweep] [standing] [growth] [memory] [--quick]``: run the named benchmarks (every one by default).

Each benchmark measures its baseline in the same run and prints a ratio against it. Options take
the ``--name=value`` form (``python -m bench growth --large=200000``); each module's ``main`` lists
its own. ``make bench BENCH="growth --quick"`` runs the same. Figures: ``docs/performance.md``.
"""

from __future__ import annotations

import sys

from bench import growth, http_cost, lifecycles, memory, standing, sweep

BENCHMARKS = {
    "http": http_cost.main,
    "lifecycles": lifecycles.main,
    "sweep": sweep.main,
    "standing": standing.main,
    "growth": growth.main,
    "memory": memory.main,
}


def main(argv: list[str]) -> None:
    names = [arg for arg in argv if not arg.startswith("-")]
    options = [arg for arg in argv if arg.startswith("-")]
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        sys.exit(f"unknown benchmark {', '.join(unknown)}; choose from: {', '.join(BENCHMARKS)}")
    for name in names or list(BENCHMARKS):
        print(f"== {name}", flush=True)
        BENCHMARKS[name](options)


if __name__ == "__main__":
    main(sys.argv[1:])
