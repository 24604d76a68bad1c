"""Mutation testing's two halves that must agree: the mutants of a module, and the plugin
that makes one of them the module a pytest run imports.

``mutants_of(source, functions)`` lists every mutant of a module's source, in one fixed
order, so an index names one mutant in the runner (``scripts/mutation.py``) and in
the pytest process it starts. Loaded with ``-p tests.plugins.mutation`` and
``PORTAL_MUTANT=<module>:<index>`` in the environment, this plugin puts an import
hook first on ``sys.meta_path`` that compiles that module from its mutated syntax
tree. Nothing is written to the working tree (other people run tests in the same
checkout at the same time) and nothing is cached: the ``.py`` on disk and its
``.pyc`` stay as they were.

The operators, each a small change a missing test would let through:

- ``compare``: ``<`` and ``<=``, ``>`` and ``>=``, ``==`` and ``!=``, ``in`` and ``not in``,
  ``is`` and ``is not`` swapped;
- ``boolop``: ``and`` and ``or`` swapped; ``not``: a ``not`` removed;
- ``number``: an integer constant plus or minus one; ``bool``: ``True`` and ``False`` swapped;
- ``raise``: a ``raise`` statement deleted;
- ``drop-item``: one item dropped from a literal list, tuple, set, frozenset or dict that
  is a refusal list (the right side of ``in``/``not in``, an UPPER_CASE constant, a set
  literal, a ``frozenset(...)``/``set(...)`` of a literal);
- ``return-none``: a returned value replaced by ``None`` (not where it already is one);
- ``loop``: ``continue`` and ``break`` swapped.

A child process the tests start (a Celery worker, gunicorn) imports the module from
disk unmutated; the modules under mutation are checked in the test process itself.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
import types
from dataclasses import dataclass
from pathlib import Path

import coverage

COMPARE_SWAPS = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
COMPARE_SYMBOLS = {
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.In: "in",
    ast.NotIn: "not in",
    ast.Is: "is",
    ast.IsNot: "is not",
}


@dataclass(frozen=True)
class Mutant:
    index: int
    line: int
    operator: str
    description: str


def _is_constant_name(target: ast.expr) -> bool:
    return isinstance(target, ast.Name) and target.id.isupper()


def _refusal_collections(tree: ast.AST) -> set[int]:
    """ids of the literal collections whose items the ``drop-item`` operator drops."""
    found: set[int] = set()
    literal = (ast.List, ast.Tuple, ast.Set, ast.Dict)

    def collection(node):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("frozenset", "set")
            and node.args
        ):
            node = node.args[0]
        return node if isinstance(node, literal) else None

    for node in ast.walk(tree):
        if isinstance(node, ast.Set):
            found.add(id(node))
        elif isinstance(node, ast.Compare):
            for op, right in zip(node.ops, node.comparators, strict=True):
                if isinstance(op, ast.In | ast.NotIn) and (item := collection(right)):
                    found.add(id(item))
        elif isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(_is_constant_name(t) for t in targets) and (item := collection(node.value)):
                found.add(id(item))
    return found


def _skipped_nodes(tree: ast.AST) -> set[int]:
    """Docstrings, annotations and ``if TYPE_CHECKING:`` blocks: nothing there runs."""
    skipped: set[int] = set()

    def skip(node):
        if node is not None:
            skipped.update(id(child) for child in ast.walk(node))

    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                skip(body[0])
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            skip(node.returns)
            for arg in (*node.args.args, *node.args.kwonlyargs, *node.args.posonlyargs):
                skip(arg.annotation)
        if isinstance(node, ast.AnnAssign):
            skip(node.annotation)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip(node)
    return skipped


def _selected_nodes(tree: ast.Module, functions: list[str] | None) -> set[int] | None:
    """With ``functions`` (qualified names, ``Class.method`` or ``function``), only the
    nodes inside those definitions; otherwise None (the whole module)."""
    if not functions:
        return None
    selected: set[int] = set()
    wanted = set(functions)

    def visit(body, prefix):
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = prefix + node.name
                if name in wanted:
                    selected.update(id(child) for child in ast.walk(node))
                    wanted.discard(name)
                elif isinstance(node, ast.ClassDef):
                    visit(node.body, name + ".")
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name) and prefix + target.id in wanted:
                        selected.update(id(child) for child in ast.walk(node))
                        wanted.discard(prefix + target.id)

    visit(tree.body, "")
    if wanted:
        raise ValueError(f"not found in the module: {', '.join(sorted(wanted))}")
    return selected


def _short(text: str, limit: int = 24) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _Planner:
    """Walks a tree in one fixed order and yields (node, parent, field, operator, change)."""

    def __init__(self, tree: ast.Module, functions: list[str] | None):
        self.tree = tree
        self.refusal = _refusal_collections(tree)
        self.skipped = _skipped_nodes(tree)
        self.selected = _selected_nodes(tree, functions)

    def wanted(self, node) -> bool:
        if id(node) in self.skipped:
            return False
        return self.selected is None or id(node) in self.selected

    def sites(self):
        for parent in ast.walk(self.tree):
            for field, value in ast.iter_fields(parent):
                children = value if isinstance(value, list) else [value]
                for position, node in enumerate(children):
                    if isinstance(node, ast.AST) and self.wanted(node):
                        yield from self.node_sites(parent, field, position, node)

    def node_sites(self, parent, field, position, node):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            for i, op in enumerate(node.ops):
                if type(op) in COMPARE_SWAPS:
                    new = COMPARE_SWAPS[type(op)]
                    # The operand on each side names which comparison of a chain it is.
                    left, right = (_short(ast.unparse(o)) for o in operands[i : i + 2])
                    old_symbol, new_symbol = COMPARE_SYMBOLS[type(op)], COMPARE_SYMBOLS[new]
                    yield (
                        node,
                        "compare",
                        f"{left} {old_symbol} {right} -> {left} {new_symbol} {right}",
                        ("compare", i, new),
                    )
        elif isinstance(node, ast.BoolOp):
            swap = "or" if isinstance(node.op, ast.And) else "and"
            yield node, "boolop", f"{'and' if swap == 'or' else 'or'} -> {swap}", ("boolop",)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            yield node, "not", "not removed", ("replace", parent, field, position, node.operand)
        elif isinstance(node, ast.Constant) and type(node.value) is bool:
            change = ast.Constant(not node.value)
            yield (
                node,
                "bool",
                f"{node.value} -> {not node.value}",
                ("replace", parent, field, position, change),
            )
        elif isinstance(node, ast.Constant) and type(node.value) is int:
            for delta in (1, -1):
                value = node.value + delta
                change = ast.Constant(value)
                yield (
                    node,
                    "number",
                    f"{node.value} -> {value}",
                    ("replace", parent, field, position, change),
                )
        elif isinstance(node, ast.Raise):
            yield node, "raise", "raise deleted", ("replace", parent, field, position, ast.Pass())
        elif isinstance(node, ast.Return) and node.value is not None:
            if not (isinstance(node.value, ast.Constant) and node.value.value is None):
                yield node, "return-none", "returns None", ("return-none",)
        elif isinstance(node, ast.Continue | ast.Break):
            other = ast.Break() if isinstance(node, ast.Continue) else ast.Continue()
            text = "continue -> break" if isinstance(node, ast.Continue) else "break -> continue"
            yield node, "loop", text, ("replace", parent, field, position, other)
        if id(node) in self.refusal:
            items = node.keys if isinstance(node, ast.Dict) else node.elts
            for i, item in enumerate(items):
                label = ast.unparse(item) if item is not None else "**"
                if len(label) > 40:
                    label = label[:37] + "..."
                yield node, "drop-item", f"item {label} dropped", ("drop", i)


def _apply(node, change) -> None:
    kind = change[0]
    if kind == "compare":
        _, i, new = change
        node.ops[i] = new()
    elif kind == "boolop":
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
    elif kind == "replace":
        _, parent, field, position, new = change
        ast.copy_location(new, node)
        value = getattr(parent, field)
        if isinstance(value, list):
            value[position] = new
        else:
            setattr(parent, field, new)
    elif kind == "return-none":
        node.value = ast.copy_location(ast.Constant(None), node.value)
    elif kind == "drop":
        _, i = change
        if isinstance(node, ast.Dict):
            del node.keys[i]
            del node.values[i]
        else:
            del node.elts[i]


def mutants_of(source: str, functions: list[str] | None = None) -> list[Mutant]:
    planner = _Planner(ast.parse(source), functions)
    return [
        Mutant(index=i, line=node.lineno, operator=operator, description=description)
        for i, (node, operator, description, _) in enumerate(planner.sites())
    ]


def mutated_tree(source: str, index: int, functions: list[str] | None = None) -> ast.Module:
    tree = ast.parse(source)
    for i, (node, _, _, change) in enumerate(_Planner(tree, functions).sites()):
        if i == index:
            _apply(node, change)
            return ast.fix_missing_locations(tree)
    raise IndexError(f"no mutant {index}")


def mutated_code(name: str, path: str, index: int, functions: list[str] | None):
    source = Path(path).read_text(encoding="utf-8")
    return compile(mutated_tree(source, index, functions), path, "exec", dont_inherit=True)


# --- Making a mutant the module a test sees --------------------------------------------


class MutantLoader(importlib.abc.Loader):
    def __init__(self, path: str, index: int, functions: list[str] | None):
        self.path = path
        self.index = index
        self.functions = functions

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        code = mutated_code(module.__name__, self.path, self.index, self.functions)
        module.__mutant__ = self.index
        exec(code, module.__dict__)


class MutantFinder(importlib.abc.MetaPathFinder):
    """Compiles ``name`` from its mutated tree when it is first imported (nothing on disk)."""

    def __init__(self, name: str, index: int, functions: list[str] | None):
        self.name = name
        self.index = index
        self.functions = functions

    def find_spec(self, fullname, path, target=None):
        if fullname != self.name:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or not spec.origin:
            return None
        loader = MutantLoader(spec.origin, self.index, self.functions)
        return importlib.util.spec_from_file_location(fullname, spec.origin, loader=loader)


def _innermost(function):
    seen = 0
    while hasattr(function, "__wrapped__") and seen < 10:
        function = function.__wrapped__
        seen += 1
    return function


def _swap_function(old, new) -> None:
    old, new = _innermost(old), _innermost(new)
    if not (isinstance(old, types.FunctionType) and isinstance(new, types.FunctionType)):
        return
    old.__code__ = new.__code__
    old.__defaults__ = new.__defaults__
    old.__kwdefaults__ = new.__kwdefaults__


def _callables(value):
    if isinstance(value, staticmethod | classmethod):
        return [value.__func__]
    if isinstance(value, property):
        return [f for f in (value.fget, value.fset, value.fdel) if f]
    if (callable(value) and hasattr(value, "__code__")) or hasattr(value, "__wrapped__"):
        return [value]
    return []


class MutantBroke(Exception):
    """The mutated module raised while it was run again."""


def apply_in_place(module: types.ModuleType, index: int, functions: list[str] | None) -> None:
    """Make an imported module behave as mutant ``index`` without new identities.

    Other modules hold its functions, classes and exceptions (``from x import y``,
    registries, decorators), so the module is run again from the mutated tree in a
    fresh namespace and what changed is carried into the objects everyone holds: a
    function's code and defaults, a class's methods, and a constant's new value
    (rebound here and in every module that imported it under the same name).
    """
    source = Path(module.__file__).read_text(encoding="utf-8")
    tree = mutated_tree(source, index, functions)
    line = mutants_of(source, functions)[index].line
    # Only the module-level names the mutated statement assigns take a new value, and those
    # computed from them further down (``STANDALONE = {TEM, *RST}``): a registry (``[]``) or
    # a sentinel (``object()``) elsewhere keeps its own.
    assigned: set[str] = set()
    for statement in tree.body:
        if not isinstance(statement, ast.Assign | ast.AnnAssign | ast.AugAssign):
            continue
        targets = getattr(statement, "targets", None) or [statement.target]
        names = {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        holds = statement.lineno <= line <= (statement.end_lineno or statement.lineno)
        uses = (
            {
                n.id
                for n in ast.walk(statement.value)
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
            }
            if statement.value is not None
            else set()
        )
        if holds or uses & assigned:
            assigned |= names
    code = compile(tree, module.__file__, "exec", dont_inherit=True)
    fresh = {
        "__name__": module.__name__,
        "__file__": module.__file__,
        "__package__": module.__package__,
        "__spec__": module.__spec__,
        "__builtins__": builtins,
    }
    try:
        exec(code, fresh)
    except Exception as broke:  # the mutated module does not even load: a kill
        raise MutantBroke(str(broke)) from broke
    rebound = {}
    for name, new in fresh.items():
        if name.startswith("__") or name not in module.__dict__:
            continue
        old = module.__dict__[name]
        if isinstance(old, types.ModuleType) or old is new:
            continue
        if isinstance(old, type) and isinstance(new, type):
            if getattr(old, "__module__", None) != module.__name__:
                continue
            for attr, value in vars(new).items():
                before = vars(old).get(attr)
                for new_f, old_f in zip(_callables(value), _callables(before), strict=False):
                    _swap_function(old_f, new_f)
            continue
        if (
            _callables(old)
            and _callables(new)
            and getattr(_innermost(old), "__module__", "") == module.__name__
        ):
            _swap_function(old, new)
            if hasattr(old, "cache_clear"):
                old.cache_clear()
            continue
        if callable(old) or name not in assigned:
            continue
        module.__dict__[name] = new
        rebound[name] = (old, new)
    for other in list(sys.modules.values()):
        namespace = getattr(other, "__dict__", None)
        if other is module or not isinstance(namespace, dict):
            continue
        for name, (old, new) in rebound.items():
            if namespace.get(name) is old:
                namespace[name] = new


# --- The fork server: one session per module, a forked child per mutant ----------------


def _run_items(items, *, last_next):
    """(failed, seconds per item, the first failure's text) with the report hooks off;
    stops at the first failure. ``last_next`` is the item taken to follow the last one
    (its own fixtures are torn down down to what the two share)."""
    from _pytest.runner import runtestprotocol

    seconds = []
    for position, item in enumerate(items):
        nextitem = items[position + 1] if position + 1 < len(items) else last_next
        started = time.monotonic()
        reports = runtestprotocol(item, log=False, nextitem=nextitem)
        seconds.append(time.monotonic() - started)
        failed = [r for r in reports if r.failed]
        if failed:
            return True, seconds, f"{item.nodeid}\n{failed[0].longreprtext[-3000:]}"
    return False, seconds, ""


def _mutant_lines(tree: ast.Module, functions) -> dict[int, tuple[set[int], bool]]:
    """For each mutant: the lines a test must run to meet it, and whether it runs at import."""
    parents = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[id(child)] = node
    planner = _Planner(tree, functions)
    found = {}
    for index, (node, _, _, _) in enumerate(planner.sites()):
        lines = set(range(node.lineno, (node.end_lineno or node.lineno) + 1))
        at_import = True
        current = node
        while id(current) in parents:
            current = parents[id(current)]
            if isinstance(current, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                # Defaults and decorators run at import; the body when called.
                body = current.body if isinstance(current.body, list) else [current.body]
                first = body[0].lineno
                last = max(b.end_lineno or b.lineno for b in body)
                at_import = not (first <= node.lineno <= last)
                break
        if len(lines) > 1 and isinstance(node, ast.stmt) and hasattr(node, "body"):
            lines = {node.lineno}
        found[index] = (lines, at_import)
    return found


def _flush_after_cut(session) -> None:
    """A test cut off mid-way may have committed rows (a transactional test): empty the
    tables, as such tests do after themselves. Never fatal to the server."""
    from django.core.management import call_command
    from django.db import connections
    from pytest_django.plugin import blocking_manager_key

    try:
        with session.config.stash[blocking_manager_key].unblock():
            call_command("flush", interactive=False, verbosity=0)
    except Exception as failed:  # the next tests will tell
        print(f"mutation: the tables could not be emptied: {failed}", file=sys.stderr)
    connections.close_all()


def _serve(session) -> None:
    plan = json.loads(Path(os.environ["PORTAL_MUTATION_PLAN"]).read_text())
    name, functions = plan["module"], plan["functions"] or None
    out = Path(plan["results"])
    items = list(session.items)
    module = importlib.import_module(name)
    path = str(Path(module.__file__).resolve())
    source = Path(path).read_text(encoding="utf-8")
    startup_lines: set[int] = set()
    if _STARTUP is not None:
        _STARTUP.stop()
        startup_lines = set(_STARTUP.get_data().lines(path) or [])
    # coverage.py's C tracer, one context per test: which lines of the module each runs.
    tracer = coverage.Coverage(data_file=None, include=[path], config_file=False)
    durations: list[float] = []
    started = time.monotonic()
    tracer.start()
    try:
        for position, item in enumerate(items):
            tracer.switch_context(str(position))
            following = items[position + 1] if position + 1 < len(items) else items[0]
            failed, seconds, text = _run_items([item], last_next=following)
            if failed:
                out.write_text(json.dumps({"baseline_failed": text}))
                return
            durations.append(seconds[0])
    finally:
        tracer.stop()
    covered: list[set[int]] = [set() for _ in items]
    for line, contexts in tracer.get_data().contexts_by_lineno(path).items():
        for context in contexts:
            if context.isdigit():
                covered[int(context)].add(line)
    baseline = time.monotonic() - started
    sites = _mutant_lines(ast.parse(source), functions)
    from django.db import connections

    results = {}
    for index in plan["indices"]:
        lines, at_import = sites[index]
        if not at_import and lines & startup_lines:
            limit = plan["timeout_base"] + plan["timeout_factor"] * baseline
            t0 = time.monotonic()
            outcome, note = _fresh_run(session, name, index, functions, limit)
            results[index] = {
                "outcome": outcome,
                "seconds": round(time.monotonic() - t0, 2),
                "note": note,
                "tests": len(items),
            }
            continue
        chosen = [i for i, hit in enumerate(covered) if at_import or lines & hit]
        if not chosen:
            results[index] = {"outcome": "passed", "seconds": 0.0, "note": "no test runs it"}
            continue
        limit = plan["timeout_base"] + plan["timeout_factor"] * sum(durations[i] for i in chosen)
        connections.close_all()
        sys.stdout.flush()
        sys.stderr.flush()
        t0 = time.monotonic()
        child = os.fork()
        if child == 0:
            code = 3
            try:
                null = os.open(os.devnull, os.O_WRONLY)
                os.dup2(null, 1)
                os.dup2(null, 2)
                apply_in_place(sys.modules[name], index, functions)
                run = [items[i] for i in chosen]
                session._setupstate.teardown_exact(run[0])
                # The last test's own teardown is skipped: the child ends there.
                failed, _, _ = _run_items(run, last_next=run[-1])
                code = 1 if failed else 0
            except MutantBroke:
                code = 1
            except BaseException:  # the runner's own failure: reported, never counted
                code = 4
            finally:
                os._exit(code)
        outcome = None
        while outcome is None:
            done, status = os.waitpid(child, os.WNOHANG)
            if done:
                code = os.waitstatus_to_exitcode(status)
                outcome = {0: "passed", 1: "failed"}.get(code, "error")
            elif time.monotonic() - t0 > limit:
                os.kill(child, signal.SIGKILL)
                os.waitpid(child, 0)
                outcome = "timeout"
                _flush_after_cut(session)
            else:
                time.sleep(0.02)
        note = f"no answer within {limit:.0f}s (counted as killed)" if outcome == "timeout" else ""
        if outcome == "error":
            note = f"the test process ended with {code}"
        if outcome == "passed":
            # What the module built before the fork (a statement it caches, a view the URL
            # conf holds) keeps the original's code: a survivor is tried again in a fresh
            # process, where the import hook compiles the mutant before anything runs.
            fresh_limit = plan["timeout_base"] + plan["timeout_factor"] * baseline
            outcome, fresh_note = _fresh_run(session, name, index, functions, fresh_limit)
            if outcome != "passed":
                note = "killed in a fresh process (built before the fork, it survived there)"
                if outcome == "timeout":
                    note = fresh_note
        results[index] = {
            "outcome": outcome,
            "seconds": round(time.monotonic() - t0, 2),
            "note": note,
            "tests": len(chosen),
        }
        out.write_text(json.dumps({"baseline_seconds": baseline, "results": results}))
    out.write_text(json.dumps({"baseline_seconds": baseline, "results": results}))


def _startup_tracer():
    """Lines of the module under mutation that run while pytest starts (an app's ``ready``
    registering a check): a mutant there cannot be swapped in afterwards, so it is run
    in a fresh pytest process that imports the mutated module from the start."""
    plan = os.environ.get("PORTAL_MUTATION_PLAN")
    if not plan:
        return None
    tracer = coverage.Coverage(
        data_file=None, include=[json.loads(Path(plan).read_text())["path"]], config_file=False
    )
    tracer.start()
    return tracer


_STARTUP = _startup_tracer()


def _fresh_run(session, name: str, index: int, functions, limit: float) -> tuple[str, str]:
    """The mutant in a new pytest process (the import hook compiles it), all the tests."""
    env = dict(os.environ)
    env.pop("PORTAL_MUTATION_PLAN", None)
    env["PORTAL_MUTANT"] = f"{name}:{index}"
    env["PORTAL_MUTANT_FUNCTIONS"] = ",".join(functions or [])
    # The server's own test database, as it is (the server is idle meanwhile).
    given = session.config.invocation_params.args
    args = ["--reuse-db" if a == "--create-db" else str(a) for a in given]
    from django.db import connections

    connections.close_all()
    command = [sys.executable, "-m", "pytest", *args]
    try:
        done = subprocess.run(
            command,
            env=env,
            cwd=session.config.invocation_params.dir,
            capture_output=True,
            timeout=limit,
        )
    except subprocess.TimeoutExpired:
        return "timeout", f"no answer within {limit:.0f}s (counted as killed)"
    note = "run in a fresh process: the line runs while pytest starts"
    # 1: a test failed; 2: collection failed (the mutated module does not import).
    return {0: "passed", 1: "failed", 2: "failed"}.get(done.returncode, "error"), note


def pytest_runtestloop(session):
    if not os.environ.get("PORTAL_MUTATION_PLAN") or session.config.option.collectonly:
        return None
    _serve(session)
    return True


def install_from_environment() -> None:
    wanted = os.environ.get("PORTAL_MUTANT")
    if not wanted:
        return
    name, _, index = wanted.rpartition(":")
    if name in sys.modules:
        raise RuntimeError(
            f"{name} was imported before the mutation hook; the mutant would not run"
        )
    functions = os.environ.get("PORTAL_MUTANT_FUNCTIONS", "")
    sys.meta_path.insert(
        0, MutantFinder(name, int(index), functions.split(",") if functions else None)
    )


install_from_environment()
