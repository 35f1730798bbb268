"""``make bench``: run every benchmark and write bench-results/results.{json,md}.

Every ``tests/benchmarks/bench_*.py`` module with a ``run(budget_seconds)`` function is
a benchmark; ``make bench ONLY=recording,events`` runs a subset. A benchmark that
crashes is reported as failed in the table (the others still run) and makes the
command exit non-zero.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import time
import traceback

from tests.benchmarks.harness import Result, setup_django, write_report


def discover() -> list[str]:
    import tests.benchmarks as package

    return sorted(
        name.removeprefix("bench_")
        for _, name, _ in pkgutil.iter_modules(package.__path__)
        if name.startswith("bench_")
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated names, e.g. recording")
    parser.add_argument(
        "--budget", type=float, default=None, help="seconds per benchmark (default: its own)"
    )
    args = parser.parse_args(argv)
    names = discover()
    if args.only:
        wanted = {name.strip() for name in args.only.split(",") if name.strip()}
        unknown = wanted - set(names)
        if unknown:
            parser.error(f"unknown benchmark(s) {sorted(unknown)}; have {names}")
        names = [name for name in names if name in wanted]
    setup_django()
    results: list[Result] = []
    crashed = False
    for name in names:
        module = importlib.import_module(f"tests.benchmarks.bench_{name}")
        print(f"running {name} …", flush=True)
        started = time.monotonic()
        options = {} if args.budget is None else {"budget_seconds": args.budget}
        try:
            results.extend(module.run(**options))
        except Exception:
            crashed = True
            traceback.print_exc()
            results.append(Result(name=f"{name} (crashed)", unit="-", median=0, p95=0, met=False))
        print(f"  done in {time.monotonic() - started:.1f}s", flush=True)
    path = write_report(results)
    print(path.read_text())
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
