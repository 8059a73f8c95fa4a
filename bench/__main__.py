"""`python -m bench [--smoke] [--out bench/results.json]`: run every section, write results.json and RESULTS.md."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path

from bench import cold, cost, package, reads, report, stack, throughput, warm
from bench.harness import Context, Section, Sizes, load_average, meta, run_sections

# Order matters: sections 1-3 share one deployed MiniStack (3 grows the tables, so it comes last of
# them); 6 prices what 1 and 2 measured.
SECTIONS: list[tuple[str, Section]] = [
    ("cold_init", cold.run),
    ("warm_latency", warm.run),
    ("items_read", reads.run),
    ("local_cloud", throughput.run),
    ("package_size", package.run),
    ("cost", cost.run),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, so CI proves the benchmarks still run")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent / "results.json",
        help="results file (RESULTS.md beside it)",
    )
    parser.add_argument(
        "--only", action="append", choices=[name for name, _ in SECTIONS], help="run only these sections"
    )
    parser.add_argument("--render", action="store_true", help="only rewrite RESULTS.md from an existing results file")
    args = parser.parse_args(argv)
    if args.render:
        results = json.loads(args.out.read_text())
        args.out.with_name("RESULTS.md").write_text(report.render(results))
        return 0

    stack.isolate_aws_env()
    out: Path = args.out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    ctx = Context(
        sizes=Sizes.smoke() if args.smoke else Sizes.full(),
        smoke=args.smoke,
        out_dir=out.parent,
        log_dir=Path(tempfile.mkdtemp(prefix="bench-logs-")),
    )
    sections = [(name, fn) for name, fn in SECTIONS if not args.only or name in args.only]
    started_at, started, load_at_start = dt.datetime.now(dt.UTC), time.perf_counter(), load_average()
    try:
        recorded = run_sections(ctx, sections)
    finally:
        ctx.close()
    results = {
        "meta": meta(ctx, started_at, time.perf_counter() - started, load_at_start),
        "reference": report.REFERENCE,
        "sections": recorded,
    }
    out.write_text(json.dumps(results, indent=2) + "\n")
    markdown = out.with_name("RESULTS.md")
    markdown.write_text(report.render(results))
    failed = [name for name, section in recorded.items() if not section["ok"]]
    ctx.log(f"wrote {out} and {markdown}; logs in {ctx.log_dir}" + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
