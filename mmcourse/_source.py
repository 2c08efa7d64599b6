"""The teaching view of a method's source: the lines that teach, without the docstring and the argument checks.

A chapter shows a method through :func:`mmcourse.viz.show_source`: first the teaching view (the DTW recursion, the
CTC forward step, the attention formula), then the package's full, validated source, folded. Both are read from the
installed package, so the book cannot drift from the code it runs. The teaching view is derived, not written: it
drops

* docstrings (of the function, and of a class and its methods);
* the checks at the door: an ``if`` whose body only raises, a call of a function named ``check_*`` or ``_check*``
  (alone, or bound back to the name it checked, ``x = check_tensor("f", "x", x)``), and a ``for`` loop made only
  of such checks.

A comment line marks where checks were left out. Where even that is long (a vectorised recursion with its set-up),
the package marks the lines that teach with a comment line ``# [teach]`` before them (and optionally
``# [/teach]`` after): the teaching view is then the signature and the marked lines only.
"""
from __future__ import annotations

import ast
import inspect
import textwrap

CHECKS_LEFT_OUT = "# … argument checks: see the full source below"
SET_UP_LEFT_OUT = "# … argument checks and set-up: see the full source below"
TEACH, END_TEACH = "# [teach]", "# [/teach]"


def _is_check_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    return name.startswith(("check_", "_check"))


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _is_check(stmt: ast.stmt) -> bool:
    """A statement that only checks the arguments (and binds nothing new)."""
    if isinstance(stmt, ast.If):
        return not stmt.orelse and all(isinstance(s, ast.Raise) for s in stmt.body)
    if isinstance(stmt, ast.Expr):
        return _is_check_call(stmt.value)
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
        # x = check_tensor("f", "x", x), or q, k, v = (_check(t, ...) for t in (q, k, v)): checked, bound back
        targets = _names(stmt.targets[0])
        return any(_is_check_call(n) for n in ast.walk(stmt.value)) and bool(targets) \
            and targets <= _names(stmt.value)
    if isinstance(stmt, ast.For):
        return not stmt.orelse and all(_is_check(s) for s in stmt.body)
    return False


def _docstring(node: ast.AST) -> ast.stmt | None:
    body = getattr(node, "body", None)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        return body[0]
    return None


def _blocks(function: ast.AST):
    """The statement lists of a function's body and of the ``if``/``for``/``while``/``with``/``try`` inside it
    (not of nested functions or classes)."""
    stack = [function.body]
    while stack:
        block = stack.pop()
        yield block
        for stmt in block:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            for field in ("body", "orelse", "finalbody"):
                inner = getattr(stmt, field, None)
                if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                    stack.append(inner)
            for handler in getattr(stmt, "handlers", []):
                stack.append(handler.body)


def teaching_view(source: str) -> str:
    """``source`` (a function, method or class) without its docstrings and argument checks.

    Examples
    --------
    >>> print(teaching_view('''
    ... def double(x):
    ...     \"\"\"Twice x.\"\"\"
    ...     if x is None:
    ...         raise ValueError("double: x is None")
    ...     return 2 * x
    ... '''), end="")
    def double(x):
        # … argument checks: see the full source below
        return 2 * x
    """
    if not isinstance(source, str):
        raise TypeError(f"teaching_view: source must be a string, got {type(source).__name__}")
    source = textwrap.dedent(source).strip("\n")
    tree = ast.parse(source)
    lines = source.splitlines()
    if any(line.strip() == TEACH for line in lines):
        return _marked_view(tree, lines)
    drop: set[int] = set()  # 0-based line numbers
    notes: dict[int, str] = {}  # line -> the comment that replaces the checks starting there
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        doc = _docstring(node)
        if doc is not None:
            drop.update(range(doc.lineno - 1, doc.end_lineno))
        if isinstance(node, ast.ClassDef):
            continue
        first = None
        for block in _blocks(node):
            checks = [s for s in block if s is not doc and _is_check(s)]
            if checks and len(checks) < len([s for s in block if s is not doc]):  # never empty a block
                for stmt in checks:
                    drop.update(range(stmt.lineno - 1, stmt.end_lineno))
                first = first if first is not None and first.lineno < checks[0].lineno else checks[0]
        if first is not None:
            notes[first.lineno - 1] = " " * first.col_offset + CHECKS_LEFT_OUT
    kept = []
    for i, line in enumerate(lines):
        if i in notes:
            kept.append(notes[i])
        if i not in drop:
            kept.append(line)
    # blank lines left at the top of a body by a dropped docstring
    out = [line for j, line in enumerate(kept) if line.strip() or (j and kept[j - 1].strip())]
    return _without_unused("\n".join(out).rstrip() + "\n")


_PURE = {"len", "sum", "int", "float", "abs", "max", "min", "range", "enumerate", "zip", "tuple", "list", "sorted",
         "str", "bool", "round"}


def _pure(node: ast.AST) -> bool:
    """An expression without side effects: no call but of a few builtins."""
    return all(isinstance(n.func, ast.Name) and n.func.id in _PURE for n in ast.walk(node) if isinstance(n, ast.Call))


def _unused(stmt: ast.stmt, loaded: set[str]) -> bool:
    """An assignment of a pure value to names that nothing reads (or a loop of such), e.g. ``where = "f"``."""
    if isinstance(stmt, ast.Assign):
        names = [n for t in stmt.targets for n in ast.walk(t)]
        return all(isinstance(n, (ast.Name, ast.Tuple, ast.Store)) for n in names) and _pure(stmt.value) and \
            all(n.id not in loaded and n.id != "_" for n in names if isinstance(n, ast.Name))
    if isinstance(stmt, ast.For):
        return not stmt.orelse and _pure(stmt.iter) and all(_unused(s, loaded) for s in stmt.body)
    return False


def _without_unused(source: str) -> str:
    """``source`` without what only the dropped checks used: assignments (and loops of them) whose names nothing
    reads any more."""
    for _ in range(3):  # dropping one assignment can leave another unread
        tree = ast.parse(source)
        loaded = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        drop: set[int] = set()
        dead_statements: list[ast.stmt] = []
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for block in _blocks(node):
                    dead = [stmt for stmt in block if _unused(stmt, loaded)]
                    if dead and len(dead) < len(block):  # never empty a block
                        dead_statements += dead
                        for stmt in dead:
                            drop.update(range(stmt.lineno - 1, stmt.end_lineno))
        if not drop:
            break
        lines = source.splitlines()
        for stmt in dead_statements:  # a note inside a dropped loop (or just after its last line) moves up to it
            end = stmt.end_lineno
            while end < len(lines) and lines[end].strip() == CHECKS_LEFT_OUT \
                    and len(lines[end]) - len(lines[end].lstrip()) > stmt.col_offset:
                end += 1
            if any(lines[i].strip() == CHECKS_LEFT_OUT for i in range(stmt.lineno - 1, end)):
                drop.update(range(stmt.lineno, end))
                drop.discard(stmt.lineno - 1)
                lines[stmt.lineno - 1] = " " * stmt.col_offset + CHECKS_LEFT_OUT
        source = "\n".join(line for i, line in enumerate(lines) if i not in drop) + "\n"
    return source


def _marked_view(tree: ast.Module, lines: list[str]) -> str:
    """The signature of the (first) function, then the lines between ``# [teach]`` and ``# [/teach]``."""
    function = next(n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))
    body_start = function.body[0].lineno - 1
    out = lines[function.lineno - 1 - len(function.decorator_list):body_start]
    indent = " " * function.body[0].col_offset
    inside = False
    for line in lines[body_start:]:
        if line.strip() == TEACH:
            inside = True
            out.append(indent + SET_UP_LEFT_OUT)
        elif line.strip() == END_TEACH:
            inside = False
        elif inside:
            out.append(line)
    return "\n".join(out).rstrip() + "\n"


def without_markers(source: str) -> str:
    """``source`` without its ``# [teach]`` and ``# [/teach]`` lines."""
    return "\n".join(line for line in source.splitlines() if line.strip() not in (TEACH, END_TEACH)) + "\n"


class SourceView:
    """What :func:`mmcourse.viz.show_source` returns: the teaching view, and the full source folded below it.

    ``data`` is the teaching view, ``full`` the package's source as it runs. In Jupyter and on the website it shows
    as highlighted code with a "full source" fold; as text, as the teaching view.
    """

    def __init__(self, obj) -> None:
        source = textwrap.dedent(inspect.getsource(obj))  # methods lose the class's indent
        self.data = without_markers(source) if inspect.ismodule(obj) else teaching_view(source)
        self.full = without_markers(source)

    def __repr__(self) -> str:
        return self.data

    def _repr_html_(self) -> str:
        from IPython.display import Code

        html = Code(self.data, language="python")._repr_html_()
        if self.data == self.full:
            return html
        n = len(self.full.splitlines())
        return (f"{html}<details><summary>The full source, with its docstring and checks ({n} lines)</summary>"
                f"{Code(self.full, language='python')._repr_html_()}</details>")
