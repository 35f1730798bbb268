"""``make bench``: run every benchmark and write bench-results/results.{json,md}."""

from __future__ import annotations

import sys

from tests.benchmarks.harness import setup_django, write_report


def main() -> int:
    setup_django()
    from tests.benchmarks import bench_recording

    results = []
    for module in (bench_recording,):
        print(f"running {module.__name__} …", flush=True)
        results.extend(module.run())
    path = write_report(results)
    print(path.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
