"""Mutation testing of the modules that decide who gets in and what is stored (`make mutation`).

Each module in ``scripts/mutation.toml`` is mutated one small change at a time (the
operators are listed in ``tests/plugins/mutation.py``) and its own tests are run
against each mutant: a failing run kills the mutant, a passing one lets it survive.
Mutants known to be equivalent (no behaviour can tell them apart from the original)
are listed with the reason in ``scripts/mutation_equivalents.toml`` and counted as such.

Why a runner of our own rather than mutmut or cosmic-ray:

- cosmic-ray writes each mutant into the source file on disk and restores it after
  the run. Other people run tests in this checkout at the same time, so a mutant on
  disk is a wrong result in someone else's run (and a crash mid-run leaves it there).
- mutmut 3 copies the tree into ``mutants/`` and mutates only code inside functions,
  so the module-level refusal lists (``FORBIDDEN_CATEGORIES``, the PDF check's
  names) are never mutated; it has no "raise deleted" or "item dropped" operator;
  and it runs the whole suite in-process first, where the services plugin's
  ``pytest_unconfigure`` stops the servers its later runs would need.
- Neither starts the suite's PostgreSQL, Redis and SeaweedFS once: each pytest run
  would start its own (about 10 s each, times hundreds of mutants).

So: the servers are started once here (``tests/plugins/services.py``'s own start
function). For each module, two pytest sessions run in parallel, each with its own test
database (made anew for each module), Redis database and data folder, and
``PORTAL_TEST_SERVICES=external``. Each session (``-p tests.plugins.mutation``) runs the
module's tests once under coverage.py, one context per test, then forks a child per mutant
that carries the mutated syntax tree into the loaded module and runs only the tests that
reach the mutated line; a mutant on a line that runs while pytest starts is run in a fresh
pytest process instead, whose import hook compiles the mutated module from the start.
A mutant that survives the fork is tried once more in such a fresh process: what the
module built before the fork (a cached statement, a view the URL conf holds) keeps the
original's code there.
Nothing is written to the working tree. A child that passes its time limit counts as
killed (the mutant made the tests hang), with a note.

Usage: ``python scripts/mutation.py [--module files.keys ...] [--jobs 2]``. The results
of each module are kept in ``var/mutation/<module>.json`` and the report
(``docs/mutation-report.md``) is written from all the kept results, so a run of one
module updates its row and leaves the others as they were (each row says the commit
it ran at). ``--module M --mutants 12 40`` runs only those mutants of one module (the
indexes ``--list`` shows) and puts their outcomes into its kept result, as long as each is
still the mutant that result measured (same line, operator and code); the row then names
the commit of that re-run too.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.plugins.mutation import Mutant, mutants_of  # noqa: E402

CONFIG = ROOT / "scripts" / "mutation.toml"
EQUIVALENTS = ROOT / "scripts" / "mutation_equivalents.toml"
BEFORE = ROOT / "scripts" / "mutation_before.toml"
RESULTS = ROOT / "var" / "mutation"
REPORT = ROOT / "docs" / "mutation-report.md"
# A fresh test database per module and slot: a run cut off by its time limit may have left
# rows behind (a transactional test), which the next module's tests must not see.
PYTEST_ARGS = ["-x", "-q", "-p", "no:cacheprovider", "-p", "tests.plugins.mutation", "--create-db"]


def module_path(name: str) -> Path:
    return ROOT / (name.replace(".", "/") + ".py")


def git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()


def slot_environment(slot: int, workdir: Path) -> dict[str, str]:
    """One parallel server's own test database, Redis database and data folder."""
    env = dict(os.environ)
    data_dir = workdir / f"mutation-data-{slot}"
    data_dir.mkdir(exist_ok=True)
    base = env["DATABASE_URL"].rsplit("/", 1)[0]
    env.update(
        {
            "PORTAL_TEST_SERVICES": "external",
            # pytest-django tests in test_<name>: one database per server.
            "DATABASE_URL": f"{base}/mutation{slot}",
            "PORTAL_DATA_DIR": str(data_dir),
            "CELERY_BROKER_URL": f"{env['TEST_REDIS_URL']}/{1 + slot}",
            "PORTAL_ENVIRONMENT": "test",
            "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
            "DJANGO_ALLOW_ASYNC_UNSAFE": "true",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    env.pop("S3_BUCKET", None)
    env.pop("PORTAL_MUTANT", None)
    return env


def load_equivalents() -> list[dict]:
    if not EQUIVALENTS.exists():
        return []
    return tomllib.loads(EQUIVALENTS.read_text()).get("equivalent", [])


def equivalent_reason(
    module: str, mutant: Mutant, source_lines: list[str], equivalents: list[dict]
) -> str | None:
    """The reason an entry gives for this mutant, matched on module, operator, description
    (when the entry gives one) and the line; an entry's ``code`` (the line's text)
    follows the line when edits above it move it."""
    code = source_lines[mutant.line - 1].strip()
    for entry in equivalents:
        if entry["module"] != module or entry["operator"] != mutant.operator:
            continue
        if entry.get("description", mutant.description) != mutant.description:
            continue
        if "code" in entry:
            if entry["code"].strip() != code:
                continue
            repeated = code_count(source_lines, code) > 1
            if entry.get("line") and repeated and entry["line"] != mutant.line:
                continue
        elif entry.get("line") != mutant.line:
            continue
        return entry["reason"]
    return None


def code_count(lines: list[str], code: str) -> int:
    return sum(1 for line in lines if line.strip() == code)


def run_module(
    entry: dict,
    jobs: int,
    workdir: Path,
    equivalents: list[dict],
    log,
    only: list[int] | None = None,
) -> dict:
    name = entry["name"]
    functions = entry.get("functions", [])
    path = module_path(name)
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    mutants = mutants_of(source, functions or None)
    if only is not None:
        mutants = [mutant for mutant in mutants if mutant.index in only]
    started = time.monotonic()
    commit = git("rev-parse", "--short", "HEAD")
    relative = path.relative_to(ROOT).as_posix()
    dirty = bool(git("status", "--porcelain", "--", relative, *entry["tests"]))
    outcomes = {}
    to_run = []
    for mutant in mutants:
        reason = equivalent_reason(name, mutant, lines, equivalents)
        if reason:
            outcomes[mutant.index] = {"outcome": "equivalent", "seconds": 0, "note": reason}
        else:
            to_run.append(mutant.index)
    log(f"{name}: {len(mutants)} mutants, {len(outcomes)} known equivalent")
    servers = []
    for slot in range(jobs):
        indices = to_run[slot::jobs]
        if not indices:
            continue
        plan = workdir / f"mutation-plan-{slot}.json"
        results = workdir / f"mutation-results-{slot}.json"
        results.unlink(missing_ok=True)
        plan.write_text(
            json.dumps(
                {
                    "module": name,
                    "path": str(path),
                    "functions": functions,
                    "indices": indices,
                    "results": str(results),
                    "timeout_base": 30,
                    "timeout_factor": 4,
                }
            )
        )
        env = slot_environment(slot, workdir)
        env["PORTAL_MUTATION_PLAN"] = str(plan)
        command = [sys.executable, "-m", "pytest", *PYTEST_ARGS, *entry["tests"]]
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        servers.append((process, results))
    for process, results in servers:
        output, _ = process.communicate()
        got = json.loads(results.read_text()) if results.exists() else {}
        if "baseline_failed" in got:
            raise SystemExit(
                f"{name}: its tests fail without any mutant:\n{got['baseline_failed']}"
            )
        if "results" not in got:
            log(f"{name}: a mutation server stopped:\n{output[-3000:]}")
        outcomes.update({int(k): v for k, v in got.get("results", {}).items()})
    missing = [m.index for m in mutants if m.index not in outcomes]
    for index in missing:  # reported as errors (left out of the score), never lost
        outcomes[index] = {"outcome": "error", "seconds": 0, "note": "the server stopped"}
    if missing:
        log(f"{name}: no result for {len(missing)} mutants (the server stopped)")
    results = []
    for mutant in mutants:
        got = outcomes[mutant.index]
        results.append(
            {
                "index": mutant.index,
                "line": mutant.line,
                "operator": mutant.operator,
                "description": mutant.description,
                "code": lines[mutant.line - 1].strip(),
                **got,
            }
        )
    return {
        "module": name,
        "path": relative,
        "functions": functions,
        "tests": entry["tests"],
        "commit": commit,
        "dirty": dirty,
        "finished": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "seconds": round(time.monotonic() - started),
        "mutants": results,
    }


def merged(kept: dict, rerun: dict) -> dict:
    """``kept`` (a whole run) with the outcomes of ``rerun`` (some of its mutants, run again)
    in place of its own; refused when a mutant re-run is not the one the kept run measured
    (the module changed since: run it whole)."""
    by_index = {mutant["index"]: mutant for mutant in kept["mutants"]}
    for mutant in rerun["mutants"]:
        was = by_index.get(mutant["index"])
        same = ("line", "operator", "description", "code")
        if was is None or any(was[key] != mutant[key] for key in same):
            raise SystemExit(
                f"{kept['module']}: mutant {mutant['index']} is not the one its kept result "
                "measured (the module changed since that run): run the module whole"
            )
        by_index[mutant["index"]] = mutant
    reruns = [
        *kept.get("reruns", []),
        {
            "indices": [mutant["index"] for mutant in rerun["mutants"]],
            "commit": rerun["commit"] + (" + local edits" if rerun["dirty"] else ""),
            "finished": rerun["finished"],
            "seconds": rerun["seconds"],
        },
    ]
    return {**kept, "mutants": [by_index[index] for index in sorted(by_index)], "reruns": reruns}


def reclassified(result: dict, equivalents: list[dict]) -> dict:
    """A kept result with the survivors that the equivalents file lists now counted as
    equivalent (listed after that run), matched on the line's text as it was then."""
    for mutant in result["mutants"]:
        if mutant["outcome"] != "passed":
            continue
        lines = {mutant["line"]: mutant["code"]}
        found = Mutant(mutant["index"], mutant["line"], mutant["operator"], mutant["description"])
        padded = [lines.get(number, "") for number in range(1, mutant["line"] + 1)]
        if reason := equivalent_reason(result["module"], found, padded, equivalents):
            mutant.update(outcome="equivalent", note=reason)
    return result


def counts(result: dict) -> dict:
    outcomes = [m["outcome"] for m in result["mutants"]]
    killed = sum(o in ("failed", "timeout") for o in outcomes)
    equivalent = outcomes.count("equivalent")
    survived = sum(o in ("passed", "unloaded") for o in outcomes)
    errors = outcomes.count("error")
    scored = len(outcomes) - equivalent - errors
    score = 100.0 * killed / scored if scored else 100.0
    return {
        "mutants": len(outcomes),
        "killed": killed,
        "survived": survived,
        "equivalent": equivalent,
        "errors": errors,
        "score": score,
    }


def report(results: list[dict], order: list[str]) -> str:
    results = sorted(
        results, key=lambda r: order.index(r["module"]) if r["module"] in order else 99
    )
    out = [
        "# Mutation testing: the last results",
        "",
        "Written by `make mutation` (`scripts/mutation.py`) on "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; how to read it: docs/mutation.md.",
        "Score = killed / (mutants - equivalent - errors). Each row's module was run whole at "
        "its commit (and the mutants it names again at theirs).",
        "",
        "| module | mutants | killed | survived | equivalent | score | commit | seconds |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for result in results:
        c = counts(result)
        scope = f" ({len(result['functions'])} definitions)" if result["functions"] else ""
        commit = result["commit"] + (" + local edits" if result["dirty"] else "")
        for rerun in result.get("reruns", []):
            named = ", ".join(str(index) for index in rerun["indices"])
            commit += f"; mutants {named} re-run at {rerun['commit']}"
        out.append(
            f"| `{result['module']}`{scope} | {c['mutants']} | {c['killed']} | {c['survived']} "
            f"| {c['equivalent']} | {c['score']:.1f}% | {commit} | {result['seconds']} |"
        )
    out += before_and_after(results)
    for title, wanted in (
        ("Survivors", ("passed", "unloaded")),
        ("Equivalent mutants", ("equivalent",)),
        ("Killed by a time limit, or stopped by an error", ("timeout", "error")),
    ):
        out += ["", f"## {title}", ""]
        rows = [(r, m) for r in results for m in r["mutants"] if m["outcome"] in wanted]
        if not rows:
            out.append("None.")
        for result, mutant in rows:
            note = f" ({mutant['note']})" if mutant["note"] else ""
            out.append(
                f"- `{result['path']}:{mutant['line']}` {mutant['operator']}: "
                f"{mutant['description']} in `{mutant['code']}`{note}"
            )
    return "\n".join(out) + "\n"


def before_and_after(results: list[dict]) -> list[str]:
    """The table of each module's score before its tests were raised
    (``scripts/mutation_before.toml``) beside its last run, with that run's command."""
    if not BEFORE.exists():
        return []
    before = {b["module"]: b for b in tomllib.loads(BEFORE.read_text()).get("before", [])}
    out = [
        "",
        "## Before and after",
        "",
        "| module | before | after | command (after) | seconds (before / after) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for result in results:
        c = counts(result)
        b = before.get(result["module"], {})
        if "killed" in b:
            was = f"{b['killed']}/{b['scored']} ({100.0 * b['killed'] / b['scored']:.1f}%)"
        else:
            was = "not measured"
        if b.get("note"):
            was += f"; {b['note']}"
        scored = c["mutants"] - c["equivalent"] - c["errors"]
        now = f"{c['killed']}/{scored} ({c['score']:.1f}%)"
        command = f'`make mutation MODULE="{result["module"]}"`'
        seconds = f"{b.get('seconds') or '-'} / {result['seconds']}"
        out.append(f"| `{result['module']}` | {was} | {now} | {command} | {seconds} |")
    ran = {result["module"] for result in results}
    for name, b in before.items():
        if name not in ran:
            out.append(f"| `{name}` | not measured; {b.get('note', '')} | not run yet | | |")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--module", action="append", help="only this module (repeatable)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument(
        "--tests", nargs="+", help="these test files instead of the module's own (one module)"
    )
    parser.add_argument("--list", action="store_true", help="list the mutants and stop")
    parser.add_argument(
        "--mutants",
        nargs="+",
        type=int,
        help="only these mutants (indexes from --list) of one module, into its kept result",
    )
    parser.add_argument(
        "--report-only", action="store_true", help="write the report from the kept results"
    )
    args = parser.parse_args()
    modules = tomllib.loads(CONFIG.read_text())["module"]
    order = [m["name"] for m in modules]
    if args.module:
        unknown = set(args.module) - set(order)
        if unknown:
            parser.error(f"not in {CONFIG.name}: {', '.join(sorted(unknown))}")
        modules = [m for m in modules if m["name"] in args.module]
    if args.tests:
        if len(modules) != 1:
            parser.error("--tests needs exactly one --module")
        modules[0]["tests"] = args.tests
    if args.mutants:
        if len(modules) != 1:
            parser.error("--mutants needs exactly one --module")
        if not (RESULTS / f"{modules[0]['name']}.json").exists():
            parser.error(f"--mutants: {modules[0]['name']} has no kept result to re-run into")
    if args.list:
        for entry in modules:
            source = module_path(entry["name"]).read_text()
            lines = source.splitlines()
            for m in mutants_of(source, entry.get("functions") or None):
                print(f"{entry['name']}:{m.index} line {m.line} {m.operator}: {m.description}")
                print(f"    {lines[m.line - 1].strip()}")
        return 0

    if args.report_only:
        modules = []
    from tests.plugins import services

    started = time.monotonic()
    for attempt in range(3 if modules else 0):  # SeaweedFS may miss its minute to start
        try:
            services.start_services()
            break
        except RuntimeError as failed:
            services.stop_all()
            if attempt == 2:
                raise
            print(f"the test servers did not start ({failed}); trying again", flush=True)
    workdir = Path(os.environ.get("PORTAL_TEST_WORKDIR", "."))
    equivalents = load_equivalents()
    RESULTS.mkdir(parents=True, exist_ok=True)

    def log(line: str) -> None:
        print(line, flush=True)

    try:
        for entry in modules:
            result = run_module(entry, args.jobs, workdir, equivalents, log, args.mutants)
            kept_path = RESULTS / f"{entry['name']}.json"
            if args.mutants:
                result = merged(json.loads(kept_path.read_text()), result)
            kept_path.write_text(json.dumps(result, indent=1))
            c = counts(result)
            log(
                f"{entry['name']}: {c['killed']}/{c['mutants'] - c['equivalent'] - c['errors']} "
                f"killed ({c['score']:.1f}%), {c['survived']} survived, "
                f"{c['equivalent']} equivalent, {result['seconds']}s"
            )
    finally:
        services.stop_all()
    kept = [json.loads(p.read_text()) for p in sorted(RESULTS.glob("*.json"))]
    kept = [reclassified(r, equivalents) for r in kept if r["module"] in order]
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(report(kept, order))
    log(f"{REPORT.relative_to(ROOT)} written; {time.monotonic() - started:.0f}s in all")
    failing = [r["module"] for r in kept if counts(r)["score"] < 90]
    if failing:
        log("below 90%: " + ", ".join(failing))
    return 0


if __name__ == "__main__":
    sys.exit(main())
