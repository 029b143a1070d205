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

Slow (one worker per target runs each mutant's tests in process, a fresh pytest process for what
cannot be patched in place): `make mutation`, not CI. docs/mutation.md has the
figures and the reasons for the equivalent mutants.
"""

from __future__ import annotations

import argparse
import ast
import copy
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

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
            "compute_service/tests/test_config.py",  # MIN_TOKEN_CHARS: the service's start refuses shorter tokens
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
EQUIVALENT: dict[str, str] = {
    # execution: translations/services/execution.py
    "execution:job_run:compare:Gt->GtE#1": "`>` → `>=` on a float clock: the elapsed time never equals the budget",
    "execution:_claim_next_page:table:drop-entry-0#1": (
        "the claim's `attempts` condition: every claim holds the job's row lock, so attempts cannot change meanwhile"
    ),
    "execution:_finish_job:statement:drop-call#1": (
        "refresh_counters() at the finish: every move to a final status (_record, sweeper, cancel) refreshed them"
    ),
    "execution:PageVerdict:bool:True->False#1": "frozen=False: nothing assigns to a PageVerdict or hashes one",
    "execution:page_execute:boolop:drop-operand-1#1": (
        "`execution is not None`: a succeeded verdict always comes with its execution; the check is for mypy"
    ),
    "execution:_record:boolop:drop-operand-2#1": (
        "`report.proposed_terms` dropped: glossary_propose with no proposals adds nothing"
    ),
    "execution:_record:boolop:drop-operand-1#2": (
        "`previous_output` dropped: removing '' is refused by the storage and only logged (_delete_quietly)"
    ),
    "execution:_record:boolop:drop-operand-0#3": (
        "`not recorded` dropped: a recorded row points to output_path, so the check keeps the file"
    ),
    "execution:_record:boolop:drop-operand-1#3": (
        "`output_path` dropped: removing '' is refused by the storage and only logged (_delete_quietly)"
    ),
    "execution:_LeaseHeartbeat:statement:drop-call#3": (
        "thread.join(): the stop event ends the loop; a beat after the record matches no row (no longer running)"
    ),
    "execution:_LeaseHeartbeat:bool:True->False#1": (
        "daemon=False: the thread is always stopped in __exit__; daemon only matters at interpreter exit"
    ),
    # contract: compute_service/contract.py
    "contract:encode_header_value:compare:LtE->Lt#2": (
        "`ch <= '~'` → `<`: '~' then goes through quote(), which leaves it as '~' (an unreserved character)"
    ),
    "contract:PageRequest:bool:True->False#1": "frozen=False: nothing assigns to a PageRequest or hashes one",
    "contract:PageMeta:bool:True->False#1": "frozen=False: nothing assigns to a PageMeta or hashes one",
    "contract:PageResponse:bool:True->False#1": "frozen=False: nothing assigns to a PageResponse or hashes one",
    "contract:PageRequest:table:drop-item-2#1": (
        "the image part without its application/octet-stream type: the service sniffs the bytes, never reads it"
    ),
    "contract:PageMeta:table:drop-item-1#7": "UnicodeDecodeError is a ValueError: `except ValueError` catches it",
    "contract:encode_page_response:boolop:drop-operand-0#1": (
        "the boundary is 128 random bits: it is never in the image, so the check on it never loops"
    ),
    "contract:encode_page_response:boolop:drop-operand-1#1": (
        "the boundary is 128 random bits: it is never in the report, so the check on it never loops"
    ),
    # retry: CloudRunExecutor
    "retry:CloudRunExecutor:boolop:drop-operand-1#2": (
        "`prepared.body or b''`: a multipart request with an image part always has a bytes body"
    ),
    "retry:CloudRunExecutor:boolop:drop-operand-1#4": (
        "GEMINI_MODEL `or None`: an empty name is neither sent (to_multipart skips it) nor refused, exactly as None"
    ),
    "retry:CloudRunExecutor:boolop:drop-operand-1#5": (
        "GEMINI_FALLBACK_MODEL `or None`: an empty name is neither sent nor refused, exactly as None"
    ),
}


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
        elif isinstance(node, ast.Tuple | ast.List | ast.Set) and _is_table(node):
            for index in range(len(node.elts)):
                yield node, f"table:drop-item-{index}", ("drop_elt", index)
        elif isinstance(node, ast.Dict):
            for index in range(len(node.keys)):
                if node.keys[index] is not None:
                    yield node, f"table:drop-entry-{index}", ("drop_key", index)


def _apply(tree: ast.Module, path: list[int], action: tuple) -> bool:
    """Mutate the node found at `path` (indexes into ast.walk order) in `tree`; False if a no-op."""
    node: Any = list(ast.walk(tree))[path[0]]
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
            found.append(Mutant(target.name, key, getattr(node, "lineno", 0), description, text, tuple(lines)))
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
            mutants = [m for m in mutants_of(target) if keys is None or m.key in keys]
            plan = workdir / f".mutation-plan-{target.name}.json"
            plan.write_text(json.dumps([asdict(m) for m in mutants]))
            verdicts = workdir / f".mutation-verdicts-{target.name}.json"
            started = time.monotonic()
            command = [
                sys.executable,
                "-m",
                "translations.testing.mutation",
                "--worker",
                target.name,
                "--plan",
                str(plan),
            ]
            env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")}
            env["PYTHONDONTWRITEBYTECODE"] = "1"
            subprocess.run([*command, "--verdicts", str(verdicts)], cwd=workdir, env=env, check=False)  # noqa: S603
            if not verdicts.is_file():
                print(f"{target.name}: the worker gave no verdicts (do the tests pass?)", file=sys.stderr)
                return 2
            killed_by_key = json.loads(verdicts.read_text())
            survived, equivalent, killed = [], [], 0
            for mutant in mutants:
                was_killed = killed_by_key[mutant.key]
                if mutant.key in EQUIVALENT:
                    equivalent.append(
                        {"key": mutant.key, "line": mutant.line, "reason": EQUIVALENT[mutant.key], "killed": was_killed}
                    )
                elif not was_killed:
                    survived.append({"key": mutant.key, "line": mutant.line, "change": mutant.description})
                    print(f"  survived {mutant.key} (line {mutant.line}): {mutant.description}", flush=True)
                else:
                    killed += 1
            considered = len(mutants) - len(equivalent)
            rate = killed / considered if considered else 1.0
            print(
                f"{target.name}: {len(mutants)} mutants in {time.monotonic() - started:.0f}s; killed {killed} of "
                f"{considered} non-equivalent ({rate:.1%}); {len(equivalent)} judged equivalent",
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


# --- The worker: one process per target, tests run in it with the mutant patched in ------------


def _worker(target: Target, plan: Path, verdicts: Path) -> int:
    """Trace the target's tests once, then run each mutant's tests in this process with the
    mutant's functions (their code objects) or tables patched into the live module.

    What cannot be patched in place (a dataclass default, an enum member) runs in a fresh
    pytest process instead.
    """
    global _tracer, _db_snapshot
    tests = tuple(test for test in target.tests if (ROOT / test).is_file())
    module_path = (ROOT / target.path).resolve()
    _tracer = _LineTracer(str(module_path), "")
    _db_snapshot = verdicts.with_name(f".mutation-db-{target.name}.sqlite3")
    _db_snapshot.unlink(missing_ok=True)
    output: list[str] = []
    code = _pytest_here(tests, output=output, fresh_db=True)
    by_test, _tracer = _tracer.by_test, None
    if code != 0:
        print(f"{target.name}: the tests fail without any mutant (exit {code}):", file=sys.stderr)
        print("".join(output)[-6000:], file=sys.stderr)
        return 2
    by_line: dict[int, list[str]] = {}
    for test, lines in by_test.items():
        for line in lines:
            by_line.setdefault(line, []).append(test)
    module = importlib.import_module(target.path.removesuffix(".py").replace("/", "."))
    original = ast.parse(module_path.read_text())
    mutants = [Mutant(**item) for item in json.loads(plan.read_text())]
    killed: dict[str, bool] = {}
    print(f"{target.name}: {len(mutants)} mutants, {len(by_test)} tests", flush=True)
    for number, mutant in enumerate(mutants, 1):
        selected = _tests_for(mutant, by_line, tests)
        try:
            undo = _patch(module, original, ast.parse(mutant.source))
        except _ImportFails:
            killed[mutant.key] = True
            continue
        if undo is None:
            _restore_db()  # the subprocess reuses the test database: it starts from the migrated copy too
            killed[mutant.key] = _in_fresh_process(module_path, mutant, selected)
            continue
        try:
            killed[mutant.key] = _pytest_here(selected, timeout=120) != 0
        finally:
            undo()
        if number % 25 == 0:
            print(f"  {number}/{len(mutants)}", flush=True)
    verdicts.write_text(json.dumps(killed))
    return 0


class _Timeout(Exception):
    pass


class _ImportFails(Exception):
    """The mutant's module would not even import: every test that loads it fails."""


def _pytest_here(
    tests: tuple[str, ...], timeout: int = 0, output: list[str] | None = None, *, fresh_db: bool = False
) -> int:
    """pytest in this process (modules stay imported, so a patch is seen); quiet; the exit code.

    What pytest printed is appended to `output` when one is given (the baseline's failures)."""
    import contextlib
    import io
    import signal

    def expire(signum, frame):
        raise _Timeout("mutant ran past its time")

    args = ["-x", "-q", "-p", "no:cacheprovider", "--create-db" if fresh_db else "--reuse-db", *tests]
    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(timeout)
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
            return int(pytest.main(args, plugins=[sys.modules[__name__]]))
    except _Timeout:
        return 1  # an endless loop is a change the tests noticed
    finally:
        if output is not None:
            output.append(printed.getvalue())
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _in_fresh_process(module_path: Path, mutant: Mutant, tests: tuple[str, ...]) -> bool:
    original = module_path.read_text()
    stat = module_path.stat()
    module_path.write_text(mutant.source)
    os.utime(module_path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 7_000_000_000))
    try:
        passed, _ = _pytest(ROOT, tests, timeout=300)
    finally:
        module_path.write_text(original)
        os.utime(module_path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    return not passed


def _patch(module, original: ast.Module, mutated: ast.Module):
    """Patch the statements that differ into the live module; an undo function, or None if not patchable."""
    undo: list = []

    def done():
        for step in reversed(undo):
            step()

    for before, after in zip(original.body, mutated.body, strict=True):
        if ast.dump(before) == ast.dump(after):
            continue
        try:
            if isinstance(after, ast.FunctionDef | ast.AsyncFunctionDef):
                ok = _patch_function(getattr(module, after.name), after, module, undo)
            elif isinstance(after, ast.ClassDef) and isinstance(before, ast.ClassDef):
                ok = _patch_class(getattr(module, after.name), before, after, module, undo)
            elif isinstance(after, ast.Assign | ast.AugAssign | ast.AnnAssign):
                ok = _patch_global(module, after, mutated, undo)
            else:
                ok = False
        except _ImportFails:
            done()
            raise
        if not ok:
            done()
            return None
    return done


def _patch_function(live, definition: ast.FunctionDef | ast.AsyncFunctionDef, module, undo: list) -> bool:
    import inspect

    if isinstance(live, staticmethod | classmethod):
        live = live.__func__
    elif isinstance(live, property):
        live = live.fget
    live = inspect.unwrap(live)
    bare = copy.deepcopy(definition)
    bare.decorator_list = []
    compiled = compile(ast.fix_missing_locations(ast.Module(body=[bare], type_ignores=[])), module.__file__, "exec")
    (code,) = [c for c in compiled.co_consts if hasattr(c, "co_name") and c.co_name == definition.name]
    if not hasattr(live, "__code__") or code.co_freevars != live.__code__.co_freevars:
        return False
    old = live.__code__
    live.__code__ = code
    undo.append(lambda: setattr(live, "__code__", old))
    return True


def _patch_class(cls, before: ast.ClassDef, after: ast.ClassDef, module, undo: list) -> bool:
    import dataclasses
    import enum

    for old_member, new_member in zip(before.body, after.body, strict=True):
        if ast.dump(old_member) == ast.dump(new_member):
            continue
        if isinstance(new_member, ast.FunctionDef | ast.AsyncFunctionDef):
            if not _patch_function(cls.__dict__[new_member.name], new_member, module, undo):
                return False
        elif (
            isinstance(new_member, ast.Assign) and not dataclasses.is_dataclass(cls) and not issubclass(cls, enum.Enum)
        ):
            namespace = {**vars(module), **vars(cls)}
            _run_statements([new_member], namespace)
            for target in new_member.targets:
                name = target.id  # type: ignore[attr-defined]
                old = cls.__dict__[name]
                setattr(cls, name, namespace[name])
                undo.append(lambda name=name, old=old: setattr(cls, name, old))
        else:
            return False
    return True


def _run_statements(statements: list[ast.stmt], namespace: dict) -> None:
    """Run the mutant's version of a few statements (a table, a class constant) in `namespace`."""
    module = ast.fix_missing_locations(ast.Module(body=statements, type_ignores=[]))
    try:
        exec(compile(module, "<mutant>", "exec"), namespace)  # noqa: S102 - the mutant's own source
    except Exception as exc:
        raise _ImportFails(str(exc)) from exc


def _patch_global(module, statement: ast.stmt, mutated: ast.Module, undo: list) -> bool:
    """Rebuild a module-level table from every statement that builds it (an Assign, then any `+=`)."""
    target = statement.targets[0] if isinstance(statement, ast.Assign) else statement.target  # type: ignore[attr-defined]
    base = target.value if isinstance(target, ast.Subscript) else target
    if not isinstance(base, ast.Name):
        return False
    name = base.id
    builders: list[ast.stmt] = [
        s
        for s in mutated.body
        if isinstance(s, ast.Assign | ast.AugAssign | ast.AnnAssign)
        and any(
            isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Store | ast.Load)
            for t in (s.targets if isinstance(s, ast.Assign) else [s.target])
            for n in ast.walk(t)
        )
    ]
    namespace = dict(vars(module))
    _run_statements(builders, namespace)
    old = getattr(module, name)
    # `from module import NAME` elsewhere (the web side's checks, a test) holds the old object: a
    # mutated source would give those importers the new one too.
    for holder in [module, *(m for m in list(sys.modules.values()) if m is not module and m is not None)]:
        if getattr(holder, "__dict__", {}).get(name) is old:
            setattr(holder, name, namespace[name])
            undo.append(lambda holder=holder: setattr(holder, name, old))
    return True


# --- The test database every run starts from ------------------------------------------------------

# Each run reuses the test database (--reuse-db: migrating it again would cost seconds a mutant). But
# a transactional test empties every table when it ends, the rows data migrations made included (the
# sweeper's django-q2 schedule), so the next run would start without them and fail a test that reads
# them, killing the mutant for nothing. The worker's first run migrates a fresh database and keeps a
# copy of it as migrate left it; every later run starts from that copy.
_db_snapshot: Path | None = None  # set by the worker
_db_file: str | None = None  # the SQLite test database, once the first run made it


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef, request):
    yield
    if fixturedef.argname == "django_db_setup" and _db_snapshot is not None:
        global _db_file
        from django.db import connections

        _db_file = str(connections["default"].settings_dict["NAME"])
        if _db_snapshot.exists():
            _restore_db()
        else:
            connections.close_all()
            _sqlite_copy(str(_db_file), str(_db_snapshot))


def _restore_db() -> None:
    if _db_snapshot is None or _db_file is None or not _db_snapshot.exists():
        return
    from django.db import connections

    connections.close_all()
    _sqlite_copy(str(_db_snapshot), _db_file)


def _sqlite_copy(source: str, destination: str) -> None:
    """SQLite's online backup: a consistent copy of a database in WAL mode, written over `destination`."""
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(destination)) as dst:
        src.backup(dst)


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
    if _tracer is not None and _tracer.out:
        Path(_tracer.out).write_text(json.dumps(_tracer.by_test))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", action="append", choices=[t.name for t in TARGETS], help="default: all")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--list", action="store_true", help="print the mutants' keys and stop")
    parser.add_argument("--keys", type=Path, help="run only the mutants whose keys this file lists (one a line)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # one target's mutants, in this process
    parser.add_argument("--plan", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--verdicts", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return _worker(next(t for t in TARGETS if t.name == args.worker), args.plan, args.verdicts)
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
