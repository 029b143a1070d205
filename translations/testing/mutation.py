"""A small AST mutation tester: does the test suite notice when the code it pins is changed?

    python -m translations.testing.mutation [--target NAME ...] [--json out.json] [--list]

Each mutant is one small change to one module (a flipped comparison, `and`/`or` swapped, a
dropped operand or `not`, a number moved by one, a flipped boolean, a removed call or raise, a
state dropped from a table) inside the scopes a target names. Every mutant runs the target's test
files in a copy of the working tree (the tree itself is never touched), on the embedded setup
(SQLite, ORM broker), stopping at the first failing test. A mutant is *killed* when the tests
fail (or run past the time limit), *survives* when they pass. Mutants judged equivalent (no test
could tell them apart from the original) are listed in EQUIVALENT with the reason; the kill rate
is over the others. Keys name the scope, the operator and the ordinal of that operator in that
scope, so they stay stable when code elsewhere in the module moves.

Slow by design (one pytest process per mutant): `make mutation`, not CI. docs/mutation.md has the
figures and the reasons for the equivalent mutants.
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Target:
    name: str
    path: str  # the module, relative to the repository root
    scopes: tuple[str, ...]  # qualified names of functions, classes or module-level assignments
    tests: tuple[str, ...]  # the test files that pin it


TARGETS = (
    Target(
        "execution",
        "translations/services/execution.py",
        ("*",),
        (
            "translations/tests/test_job_execution.py",
            "translations/tests/test_execution_recording.py",
            "translations/tests/test_jobs.py",
            "translations/tests/test_executors.py",
            "translations/tests/test_sweeper.py",
        ),
    ),
    Target(
        "transitions",
        "translations/models.py",
        (
            "JOB_TRANSITIONS",
            "JOB_FINAL",
            "PAGE_TRANSITIONS",
            "PAGE_FINAL",
            "_move",
            "TranslationJob.move_to",
            "PageResult.move_to",
            "TranslationJob.ACTIVE",
            "PageResult.DONE",
        ),
        (
            "translations/tests/test_models.py",
            "translations/tests/test_transitions.py",
            "translations/tests/test_jobs.py",
            "translations/tests/test_job_execution.py",
            "translations/tests/test_sweeper.py",
        ),
    ),
    Target(
        "contract",
        "compute_service/contract.py",
        ("*",),
        (
            "compute_service/tests/test_contract.py",
            "compute_service/tests/test_contract_limits.py",
            "translations/tests/test_executors.py",
            "translations/tests/test_executor_retry.py",
            "compute_service/tests/test_limits.py",
        ),
    ),
    Target(
        "retry",
        "translations/executors.py",
        ("CloudRunExecutor", "_wait", "_remote_ms", "_reason", "MAX_RETRY_AFTER_SEC"),
        ("translations/tests/test_executors.py", "translations/tests/test_executor_retry.py"),
    ),
)

# key → why no test can tell the mutant from the original. Keys are printed by --list.
EQUIVALENT: dict[str, str] = {}


@dataclass
class Mutant:
    target: str
    key: str  # scope:operator#ordinal
    line: int
    description: str
    source: str = field(repr=False)
    lines: tuple[int, ...] = ()  # the lines the mutated node spans


COMPARE_SWAPS: dict[type, type] = {
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
BINOP_SWAPS: dict[type, type] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
    ast.Pow: ast.Mult,
}


def _scope_nodes(tree: ast.Module, scopes: tuple[str, ...]) -> Iterator[tuple[str, ast.AST]]:
    """(qualified name, node) for every scope the target names; "*" is every top-level statement."""

    def named(node: ast.AST, prefix: str) -> Iterator[tuple[str, ast.AST]]:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            name = f"{prefix}{node.name}"
            yield name, node
            if isinstance(node, ast.ClassDef):
                for child in node.body:
                    yield from named(child, f"{name}.")
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                base = target.value if isinstance(target, ast.Subscript) else target
                if isinstance(base, ast.Name):
                    yield f"{prefix}{base.id}", node

    for statement in tree.body:
        if "*" in scopes:
            if isinstance(statement, ast.Import | ast.ImportFrom | ast.Expr):
                continue  # imports and the docstring
            for name, node in named(statement, ""):
                if "." not in name:
                    yield name, node
                    break
            continue
        for name, node in named(statement, ""):
            if name in scopes:
                yield name, node


def _annotations(tree: ast.Module) -> Iterator[ast.AST]:
    for node in ast.walk(tree):
        if isinstance(node, ast.AnnAssign):
            yield node.annotation
        elif isinstance(node, ast.arg) and node.annotation is not None:
            yield node.annotation
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns is not None:
            yield node.returns


def _log_calls(tree: ast.Module) -> Iterator[ast.AST]:
    """`logger.info(...)` and the like: what they print is for people, no test reads it."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            func = node.value.func
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "logger":
                yield node


def _is_docstring(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    parent = parents.get(node)
    return isinstance(parent, ast.Expr) and isinstance(parents.get(parent), ast.Module | ast.FunctionDef | ast.ClassDef)


def _is_table(node: ast.AST) -> bool:
    """A literal tuple, list or set of plain values or names (a table of states, say)."""
    if isinstance(node, ast.Set) or (isinstance(node, ast.Tuple | ast.List) and isinstance(node.ctx, ast.Load)):
        return bool(node.elts) and all(isinstance(e, ast.Constant | ast.Name | ast.Attribute) for e in node.elts)
    return False


def _mutations(scope: ast.AST) -> Iterator[tuple[ast.AST, str, tuple]]:
    """(node, operator name, action) for each mutation inside `scope`.

    The operators the issue names: a flipped comparison, a dropped condition (an operand of
    `and`/`or`, a `not`), a removed call or raise, a state dropped from a table (an item of a
    literal tuple/list/set of names, an entry of a dict); plus flipped booleans, swapped
    arithmetic, and module-level numbers (the limits) moved by one.
    """
    module_level = isinstance(scope, ast.Assign | ast.AnnAssign | ast.AugAssign)
    for node in ast.walk(scope):
        if isinstance(node, ast.Compare):
            for index, op in enumerate(node.ops):
                if type(op) in COMPARE_SWAPS:
                    yield node, f"compare:{type(op).__name__}->{COMPARE_SWAPS[type(op)].__name__}", ("op", index)
        elif isinstance(node, ast.BoolOp):
            for index in range(len(node.values)):
                yield node, f"boolop:drop-operand-{index}", ("drop", index)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            yield node, "not:drop", ("unnot",)
        elif isinstance(node, ast.BinOp) and type(node.op) in BINOP_SWAPS:
            yield node, f"binop:{type(node.op).__name__}->{BINOP_SWAPS[type(node.op)].__name__}", ("binop",)
        elif isinstance(node, ast.Constant) and type(node.value) is int and module_level:
            yield node, f"number:{node.value}->{node.value + 1}", ("inc",)  # a limit moved by one
        elif isinstance(node, ast.Constant) and type(node.value) is bool:
            yield node, f"bool:{node.value}->{not node.value}", ("flip",)
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            yield node, "statement:drop-call", ("pass",)
        elif isinstance(node, ast.Raise):
            yield node, "statement:drop-raise", ("pass",)
        elif _is_table(node):
            for index in range(len(node.elts)):
                yield node, f"table:drop-item-{index}", ("drop_elt", index)
        elif isinstance(node, ast.Dict):
            for index in range(len(node.keys)):
                if node.keys[index] is not None:
                    yield node, f"table:drop-entry-{index}", ("drop_key", index)


def _apply(tree: ast.Module, path: list[int], action: tuple) -> bool:
    """Mutate the node found at `path` (indexes into ast.walk order) in `tree`; False if a no-op."""
    node = list(ast.walk(tree))[path[0]]
    kind = action[0]
    if kind == "op":
        node.ops[action[1]] = COMPARE_SWAPS[type(node.ops[action[1]])]()
    elif kind == "drop":
        del node.values[action[1]]
        if len(node.values) == 1:
            _replace(tree, node, node.values[0])
    elif kind == "unnot":
        _replace(tree, node, node.operand)
    elif kind == "binop":
        node.op = BINOP_SWAPS[type(node.op)]()
    elif kind == "inc":
        node.value += 1
    elif kind == "flip":
        node.value = not node.value
    elif kind == "pass":
        _replace(tree, node, ast.Pass())
    elif kind == "drop_elt":
        del node.elts[action[1]]
    elif kind == "drop_key":
        del node.keys[action[1]]
        del node.values[action[1]]
    return True


def _replace(tree: ast.Module, old: ast.AST, new: ast.AST) -> None:
    for parent in ast.walk(tree):
        for name, value in ast.iter_fields(parent):
            if value is old:
                setattr(parent, name, new)
                return
            if isinstance(value, list) and any(item is old for item in value):
                setattr(parent, name, [new if item is old else item for item in value])
                return
    raise AssertionError("node not found")


def mutants_of(target: Target) -> list[Mutant]:
    source = (ROOT / target.path).read_text()
    tree = ast.parse(source)
    parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
    order = {id(node): index for index, node in enumerate(ast.walk(tree))}
    original = ast.unparse(tree)
    found: list[Mutant] = []
    seen_sources: set[str] = set()
    skipped = {id(node) for root in [*_annotations(tree), *_log_calls(tree)] for node in ast.walk(root)}
    ordinals: dict[tuple[str, str], int] = {}
    for scope_name, scope in _scope_nodes(tree, target.scopes):
        for node, operator, action in _mutations(scope):
            if id(node) in skipped or (isinstance(node, ast.Constant) and _is_docstring(node, parents)):
                continue
            ordinal = ordinals[scope_name, operator] = ordinals.get((scope_name, operator), 0) + 1
            lines = range(getattr(node, "lineno", 0), getattr(node, "end_lineno", 0) + 1)
            mutated = copy.deepcopy(tree)
            _apply(mutated, [order[id(node)]], action)
            try:
                text = ast.unparse(ast.fix_missing_locations(mutated))
                compile(text, target.path, "exec")
            except (SyntaxError, ValueError, TypeError):
                continue  # e.g. an empty body: not a program
            if text == original or text in seen_sources:
                continue
            seen_sources.add(text)
            key = f"{target.name}:{scope_name}:{operator}#{ordinal}"
            segment = ast.get_source_segment(source, node) or type(node).__name__
            description = f"{operator} in {segment.splitlines()[0][:70]}"
            found.append(Mutant(target.name, key, node.lineno, description, text, tuple(lines)))
    return found


def _tree_files() -> list[str]:
    """The working tree's files as git sees them (tracked and untracked, not ignored)."""
    if not (ROOT / ".git").exists():  # an exported snapshot: everything but the venv and data
        skip = {".venv", "data", "__pycache__"}
        return [
            str(path.relative_to(ROOT))
            for path in ROOT.rglob("*")
            if path.is_file() and not skip & set(path.relative_to(ROOT).parts)
        ]
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    return [raw.decode() for raw in listed.split(b"\0") if raw]


def _copy_tree(destination: Path) -> None:
    for relative in _tree_files():
        source = ROOT / relative
        if not source.is_file():
            continue
        (destination / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, destination / relative)
    (destination / ".venv").symlink_to((ROOT / ".venv").resolve())
    (destination / "data").mkdir()
    models = ROOT / "data" / "models"
    if models.exists():
        (destination / "data" / "models").symlink_to(models.resolve())


def _pytest(workdir: Path, tests: tuple[str, ...], timeout: float, env_extra: dict | None = None) -> tuple[bool, float]:
    """(tests passed, seconds); a run past `timeout` counts as failed."""
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # a mutant's bytecode must never be reused
    env.update(env_extra or {})
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "--reuse-db", *tests]
    if env_extra:
        command[3:3] = ["-p", "translations.testing.mutation"]
    started = time.monotonic()
    try:
        done = subprocess.run(command, cwd=workdir, env=env, capture_output=True, timeout=timeout)  # noqa: S603
    except subprocess.TimeoutExpired:
        return False, time.monotonic() - started
    return done.returncode == 0, time.monotonic() - started


def _lines_to_tests(workdir: Path, target: Target, tests: tuple[str, ...]) -> tuple[dict[int, list[str]], float]:
    """Run the target's tests once, recording which lines of its module each test runs."""
    out = workdir / f".mutation-trace-{target.name}.json"
    passed, seconds = _pytest(workdir, tests, timeout=3600, env_extra={TRACE_ENV: f"{workdir / target.path}|{out}"})
    if not passed:
        return {}, seconds
    by_line: dict[int, list[str]] = {}
    for test, lines in json.loads(out.read_text()).items():
        for line in lines:
            by_line.setdefault(line, []).append(test)
    return by_line, seconds


def _tests_for(mutant: Mutant, by_line: dict[int, list[str]], tests: tuple[str, ...]) -> tuple[str, ...]:
    """The tests that run the mutated lines; all of them for a line no test runs in this process
    (module level, read at import; or only run in a subprocess such as the compute service)."""
    chosen = {test for line in mutant.lines for test in by_line.get(line, ())}
    return tuple(sorted(chosen)) if chosen else tests


def run(targets: list[Target], *, out: Path | None, keys: set[str] | None = None) -> int:
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="mutation-") as temp:
        workdir = Path(temp)
        _copy_tree(workdir)
        for target in targets:
            tests = tuple(test for test in target.tests if (workdir / test).is_file())
            module = workdir / target.path
            original = module.read_text()
            stat = module.stat()
            by_line, baseline = _lines_to_tests(workdir, target, tests)
            if not by_line:
                print(f"{target.name}: the tests fail without any mutant; fix them first", file=sys.stderr)
                return 2
            mutants = [m for m in mutants_of(target) if keys is None or m.key in keys]
            print(f"{target.name}: {len(mutants)} mutants, traced tests took {baseline:.1f}s", flush=True)
            survived, equivalent, killed = [], [], 0
            for number, mutant in enumerate(mutants, 1):
                module.write_text(mutant.source)
                os.utime(module, ns=(stat.st_atime_ns, stat.st_mtime_ns + number * 1_000_000_000))
                try:
                    passed, _ = _pytest(workdir, _tests_for(mutant, by_line, tests), timeout=max(60.0, baseline * 2))
                finally:
                    module.write_text(original)
                    os.utime(module, ns=(stat.st_atime_ns, stat.st_mtime_ns))
                if mutant.key in EQUIVALENT:
                    equivalent.append(
                        {"key": mutant.key, "line": mutant.line, "reason": EQUIVALENT[mutant.key], "killed": not passed}
                    )
                elif passed:
                    survived.append({"key": mutant.key, "line": mutant.line, "change": mutant.description})
                    print(f"  survived {mutant.key} (line {mutant.line}): {mutant.description}", flush=True)
                else:
                    killed += 1
                if number % 20 == 0:
                    print(f"  {number}/{len(mutants)} run", flush=True)
            considered = len(mutants) - len(equivalent)
            rate = killed / considered if considered else 1.0
            print(
                f"{target.name}: killed {killed} of {considered} non-equivalent ({rate:.1%}); "
                f"{len(equivalent)} judged equivalent",
                flush=True,
            )
            results[target.name] = {
                "mutants": len(mutants),
                "killed": killed,
                "equivalent": equivalent,
                "survived": survived,
                "kill_rate": round(rate, 4),
            }
    if out:
        out.write_text(json.dumps(results, indent=2) + "\n")
    return 0 if all(result["kill_rate"] >= 0.95 for result in results.values()) else 1


# --- A pytest plugin for the trace run: `-p translations.testing.mutation` with MUTATION_TRACE set ---

TRACE_ENV = "MUTATION_TRACE"  # "<module file>|<json out>"


class _LineTracer:
    """Records the lines of one file each test runs, in every thread the test starts."""

    def __init__(self, filename: str, out: str) -> None:
        self.filename = filename
        self.out = out
        self.hits: set[int] = set()
        self.by_test: dict[str, list[int]] = {}

    def trace(self, frame, event, arg):
        return self._line if frame.f_code.co_filename == self.filename else None

    def _line(self, frame, event, arg):
        if event == "line":
            self.hits.add(frame.f_lineno)
        return self._line


_tracer: _LineTracer | None = None


def pytest_configure(config) -> None:
    global _tracer
    spec = os.environ.get(TRACE_ENV)
    if spec:
        filename, out = spec.split("|", 1)
        _tracer = _LineTracer(str(Path(filename).resolve()), out)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    if _tracer is None:
        yield
        return
    _tracer.hits = set()
    sys.settrace(_tracer.trace)
    threading.settrace(_tracer.trace)
    try:
        yield
    finally:
        sys.settrace(None)
        threading.settrace(None)  # type: ignore[arg-type]
        _tracer.by_test[item.nodeid] = sorted(_tracer.hits)


def pytest_sessionfinish(session, exitstatus) -> None:
    if _tracer is not None:
        Path(_tracer.out).write_text(json.dumps(_tracer.by_test))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", action="append", choices=[t.name for t in TARGETS], help="default: all")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--list", action="store_true", help="print the mutants' keys and stop")
    parser.add_argument("--keys", type=Path, help="run only the mutants whose keys this file lists (one a line)")
    args = parser.parse_args()
    targets = [t for t in TARGETS if not args.target or t.name in args.target]
    if args.list:
        for target in targets:
            for mutant in mutants_of(target):
                print(f"{mutant.key}\tline {mutant.line}\t{mutant.description}")
        return 0
    keys = set(args.keys.read_text().split()) if args.keys else None
    return run(targets, out=args.json, keys=keys)


if __name__ == "__main__":
    sys.exit(main())
