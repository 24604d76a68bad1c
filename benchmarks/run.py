"""`make bench`: every benchmark in one run, written to benchmarks/results.md (and the
figures to results.json), with the machine's description and the load average.

    python benchmarks/run.py [--repeats N] [--only SECTION ...] [--output PATH]
    python benchmarks/run.py --profile CONTENDER FIXTURE    # pyinstrument of one thumbnail

Sections, in this order: thumbnails and cleaning (child processes only, before any server
starts), then on one stack of the portal's scaled shape (`stack.py`): processing, serving,
upload to answer, ingest (last: the uploads it leaves queued are never processed). A section
that fails is reported as not measured, with the reason; it never stops the others or the
report.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
# Run as a script: import the modules as the ``benchmarks`` package, never by bare name.
sys.path[:] = [str(REPO_DIR), *(entry for entry in sys.path if Path(entry) != BENCH_DIR)]

from benchmarks import (  # noqa: E402
    cleaning,
    ingest,
    machine,
    processing,
    report,
    serving,
    thumbnails,
    upload_answer,
)
from benchmarks.fixtures import ensure_fixtures, fixture_path  # noqa: E402
from benchmarks.stack import Stack  # noqa: E402

PIPELINE = {
    "processing": (processing.TITLE, lambda stack, photo: processing.run(stack, photo)),
    "serving": (serving.TITLE, lambda stack, photo: serving.run(stack, photo)),
    "upload_answer": (upload_answer.TITLE, lambda stack, photo: upload_answer.run(stack, photo)),
    "ingest": (ingest.TITLE, lambda stack, photo: ingest.run(stack)),
}
SECTIONS = ("thumbnails", "cleaning", *PIPELINE)


def run_all(*, repeats: int, output: Path, only: tuple[str, ...]) -> None:
    ensure_fixtures()
    started = time.time()
    load_start = machine.load_average()
    sections: list[report.Section] = []
    if "thumbnails" in only:
        print("Thumbnails (fresh processes, round-robin)...", flush=True)
        sections.append(
            report.guarded("thumbnails", thumbnails.TITLE, lambda: thumbnails.run(repeats))
        )
    if "cleaning" in only:
        print("Cleaning (one child process, round-robin)...", flush=True)
        sections.append(report.guarded("cleaning", cleaning.TITLE, cleaning.run))
    wanted = [key for key in PIPELINE if key in only]
    if wanted:
        photo = fixture_path("jpeg").read_bytes()
        try:
            with Stack() as stack:
                for key in wanted:
                    title, run = PIPELINE[key]
                    print(f"{title}...", flush=True)
                    sections.append(
                        report.guarded(key, title, functools.partial(run, stack, photo))
                    )
        except Exception as error:  # the stack itself did not start
            done = {section.key for section in sections}
            why = f"the stack did not start: {type(error).__name__}: {error}"
            sections += [
                report.not_measured(key, PIPELINE[key][0], why) for key in wanted if key not in done
            ]
    output.write_text(
        report.render(
            sections=sections,
            machine=machine.description(),
            started=started,
            load_start=load_start,
            load_end=machine.load_average(),
        )
    )
    figures = {section.key: section.data for section in sections}
    output.with_suffix(".json").write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    print(f"Wrote {output} in {time.time() - started:.0f} s")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=thumbnails.DEFAULT_REPEATS)
    parser.add_argument("--output", type=Path, default=BENCH_DIR / "results.md")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--profile", nargs=2, metavar=("CONTENDER", "FIXTURE"))
    args = parser.parse_args(argv)
    if args.profile:
        thumbnails.profile(*args.profile)
    else:
        run_all(repeats=args.repeats, output=args.output, only=tuple(args.only))


if __name__ == "__main__":
    main()
