"""`python -m benchmarks.bench`: how fast the platform is on the real review drops.

In one run it measures the stemming against a reference of the seed's loop, each asset's time in a
full graph run, a new drop's way to production, the code location's load time, and every
candidate's quality on the latest drop when trained on the earlier ones, and prints each beside its
target.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys

from benchmarks.future import benchmark_future
from benchmarks.graph import benchmark_graph
from benchmarks.load import benchmark_load
from benchmarks.new_drop import benchmark_new_drop
from benchmarks.report import Summary, Tee, machine_facts, print_table, record, summary_table
from benchmarks.stemming import REFERENCE_SAMPLE, benchmark_stemming


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--full",
        action="store_true",
        help="time the seed reference on every review (about 5 minutes) instead of extrapolating "
        f"from about {REFERENCE_SAMPLE}",
    )
    parser.add_argument(
        "--epochs", type=int, default=None, help="cap on training epochs, passed to sentiment-run"
    )
    parser.add_argument(
        "--record",
        action="store_true",
        help="write the output to BENCHMARKS.md and the headline tables into README.md",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Imported here, not at the top: it imports Dagster, which `--help` does not need.
    from sentiment_assets_tests.support import real_drops_dir

    folder = real_drops_dir()
    drops = sorted(folder.glob("*.csv"))
    if not drops:
        print(
            f"benchmark: no review drops (*.csv) in {folder}; "
            "set SENTIMENT_REVIEWS_DIR to the folder holding reviews_*.csv",
            file=sys.stderr,
        )
        return 2
    output = io.StringIO()
    summary: Summary = []
    with contextlib.redirect_stdout(Tee(sys.stdout, output)):
        print(f"Benchmark on {len(drops)} drops in {folder}: {', '.join(p.name for p in drops)}\n")
        print_table("Machine", machine_facts())
        # Stemming first: its cold time needs a process that has not stemmed or imported NLTK yet.
        stemming_ok = benchmark_stemming(drops, full=args.full, summary=summary)
        graph = benchmark_graph(drops, epochs=args.epochs, summary=summary)
        drop_ok = benchmark_new_drop(drops, rebuild=graph.wall, summary=summary)
        load_ok = benchmark_load(summary=summary)
        benchmark_future(drops, summary=summary)
        print_table("Summary", summary_table(summary))
    if args.record:
        record(output.getvalue(), summary, graph.candidates)
    return 0 if stemming_ok and graph.ok and drop_ok and load_ok else 1


if __name__ == "__main__":
    sys.exit(main())
