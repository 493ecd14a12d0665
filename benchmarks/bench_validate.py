"""What the loader's checks cost: load and validate a data folder, printed (never asserted).

    python benchmarks/bench_validate.py [FOLDER] [--repeat 3]    # default: data/sample

Prints, per run, the wall time and the CPU time of ``load(FOLDER, strict=False)`` with every check
(types, allowed values, keys, references, currencies, spreadsheet-damaged ids, dates, orders without
lines) and with ``checks=False`` (what a kernel does when the batch has validated unchanged data),
then the medians. CPU time is the steadier figure on a shared machine. With ``--fresh-scan`` every
run starts without the record of the full-column personal-data scan (as the first load of a new
version of the files does); without it, runs after the first read the record (as a batch's kernels do).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _once(folder: Path, checks: bool, fresh_scan: bool = False) -> tuple[float, float, int]:
    import os
    import tempfile

    from workbench.data.loader import load

    scan_dir = tempfile.mkdtemp(prefix="bench-scan-") if fresh_scan else None
    if scan_dir:
        os.environ["WORKBENCH_SCAN_DIR"] = scan_dir

    wall, cpu = time.perf_counter(), time.process_time()
    ds = load(folder, strict=False, checks=checks)
    out = (time.perf_counter() - wall, time.process_time() - cpu, len(ds.problems))
    getattr(ds, "close", lambda: None)()  # (older loaders have no close)
    if scan_dir:
        import shutil

        shutil.rmtree(scan_dir, ignore_errors=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default=str(ROOT / "data" / "sample"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--fresh-scan", action="store_true",
                        help="scan for personal data in every run (no record of an earlier scan)")
    args = parser.parse_args()
    folder = Path(args.folder)
    _once(folder, True)  # warm the file cache
    for checks in (True, False):
        runs = [_once(folder, checks, args.fresh_scan) for _ in range(args.repeat)]
        for wall, cpu, n in runs:
            print(f"checks={checks!s:<5}  wall {wall:6.2f} s  cpu {cpu:6.2f} s  problems {n}")
        print(f"checks={checks!s:<5}  median wall {statistics.median(r[0] for r in runs):.2f} s, "
              f"median cpu {statistics.median(r[1] for r in runs):.2f} s ({args.repeat} runs, {folder})")


if __name__ == "__main__":
    main()
