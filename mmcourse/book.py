"""Tools that maintain the book's notebooks: ``python -m mmcourse.book COMMAND``.

Commands
--------
static DEST            copy plotly.js and MathJax, from installed packages, into DEST: the website draws its
                       figures and equations offline, loading each library once per page
setup-cells [--ref R]  stamp the common first cell into every notebook under chapters/ (URL from _config.yml)
student SRC DEST       write student versions: every cell tagged ``solution`` becomes a stub, and every cell tagged
                       ``check-solution`` (a hidden assert that the reference solution passes) is dropped
student-book DEST       write the book's sources with student versions of the notebooks to DEST, for a website
                       without solutions (``make book-student`` builds it)
grade SUBMISSION... --out DIR [--reference DIR] [--timeout S] [--jobs N]
                       grade submitted notebooks against the instructor's (see :mod:`mmcourse.grading`): writes
                       DIR/grades.csv, DIR/summary.csv, DIR/report.html and DIR/feedback/; exit status 1 when a
                       submission could not be graded (missing, unreadable, timed out, kernel died)
exercise-index         write chapters/appendix/exercises.md: every exercise with its difficulty, points, checker
strip                  remove outputs and execution counts from every notebook under chapters/
"""
from __future__ import annotations

import argparse
import ast
import copy
import json
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETUP_TEMPLATE = '''# Setup: on Colab, install the book's package (silently); elsewhere, use the one already installed.
import sys

if "google.colab" in sys.modules:
    import subprocess

    PACKAGE = "mmcourse @ git+{url}@{ref}"
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", PACKAGE],
                         capture_output=True, text=True)
    if pip.returncode:
        raise RuntimeError(pip.stderr)

import mmcourse'''
STUB_MESSAGE = "Exercise: replace this line with your solution"


def repository(config: Path = ROOT / "_config.yml") -> tuple[str, str]:
    """The book's repository URL and branch, read from ``_config.yml`` (their one home)."""
    import yaml

    repo = (yaml.safe_load(config.read_text()) or {}).get("repository") or {}
    if not repo.get("url") or not repo.get("branch"):
        raise ValueError(f"{config}: expected repository.url and repository.branch")
    return str(repo["url"]), str(repo["branch"])


def setup_cell(ref: str | None = None) -> str:
    """The first code cell of every notebook; it installs the package at ``ref`` (default: the book's branch)."""
    url, branch = repository()
    return SETUP_TEMPLATE.format(url=url, ref=ref or branch)


def notebooks(folder: Path = ROOT / "chapters") -> list[Path]:
    return sorted(p for p in folder.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def _read(path: Path) -> dict:
    return json.loads(path.read_text())


def _write(path: Path, nb: dict) -> None:
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def stamp_setup_cells(ref: str | None = None) -> list[Path]:
    """Make every notebook's first code cell the setup cell, folded on the website (tag ``hide-input``); returns
    the notebooks that changed."""
    cell_text = setup_cell(ref)
    changed = []
    for path in notebooks():
        nb = _read(path)
        first = next(c for c in nb["cells"] if c["cell_type"] == "code")
        tags = first.setdefault("metadata", {}).setdefault("tags", [])
        if _source(first) != cell_text or "hide-input" not in tags:
            first["source"] = cell_text
            tags[:] = sorted(set(tags) | {"hide-input"})  # the website folds it; Jupyter and Colab show it
            _write(path, nb)
            changed.append(path)
    return changed


def copy_static(dest: Path) -> None:
    """Copy plotly.js (from plotly) and MathJax 3 with SVG output (from django-static-mathjax) into ``dest``.

    Nothing is committed or fetched from a CDN: both come from packages of the book's environment. MathJax's CHTML
    fonts and speech-rule files are left out (SVG output needs no fonts).
    """
    import plotly

    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(Path(plotly.__file__).parent / "package_data" / "plotly.min.js", dest / "plotly.min.js")
    try:
        import mathjax
    except ImportError as err:
        raise SystemExit("MathJax is missing: install the book's requirements (make env)") from err
    es5 = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    shutil.rmtree(dest / "mathjax", ignore_errors=True)
    shutil.copytree(es5, dest / "mathjax", ignore=shutil.ignore_patterns("fonts", "sre", "*chtml*", "*-full.js"))


def _stub_definition(node: ast.AST) -> ast.AST:
    """A function keeps its signature and docstring, with ``raise NotImplementedError`` as its body; a class keeps
    its header and docstring, with every method stubbed the same way."""
    node = copy.deepcopy(node)
    doc = ast.get_docstring(node, clean=False)
    body: list[ast.stmt] = [ast.Expr(ast.Constant(doc))] if doc is not None else []
    if isinstance(node, ast.ClassDef):
        body += [_stub_definition(n) for n in node.body if isinstance(n, _DEFINITIONS)]
        node.body = body or [ast.Pass()]
    else:
        node.body = body + ast.parse(f'raise NotImplementedError("{STUB_MESSAGE}")').body
    return node


_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def stub(source: str) -> str:
    """A student's version of a solution cell: its imports stay, each top-level function keeps its signature and
    docstring with a body that raises ``NotImplementedError``, each class keeps its methods stubbed the same way,
    and any other statement is dropped. A cell that defines no function or class (its solution is a value) keeps
    its imports, and each name it assigns becomes ``NotImplemented``."""
    tree = ast.parse(source)
    kept = [n if isinstance(n, (ast.Import, ast.ImportFrom)) else _stub_definition(n)
            for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom, *_DEFINITIONS))]
    if not any(isinstance(n, _DEFINITIONS) for n in kept):
        # A value, not a function (e.g. a dict of predictions): each name it assigns becomes ``NotImplemented``,
        # which the checkers and the grader report as "not attempted".
        names = [t.id for n in tree.body if isinstance(n, (ast.Assign, ast.AnnAssign))
                 for t in (n.targets if isinstance(n, ast.Assign) else [n.target]) if isinstance(t, ast.Name)]
        imports = [n for n in kept if isinstance(n, (ast.Import, ast.ImportFrom))]
        lines = [ast.unparse(n) for n in imports] + [f"# {STUB_MESSAGE}"]
        return "\n".join(lines + [f"{name} = NotImplemented" for name in dict.fromkeys(names)]) + "\n"
    return ast.unparse(ast.Module(body=kept, type_ignores=[])) + "\n"


def student_version(src: Path, dest: Path) -> int:
    """Copy the notebooks under ``src`` to ``dest`` with every ``solution`` cell stubbed; returns the stub count.

    Cells tagged ``check-solution`` assert that the reference solutions pass their checks, which keeps the book
    honest; a student's notebook drops them, so that its own check cells report what is left to do.
    """
    count = 0
    for path in notebooks(src):
        nb = _read(path)
        nb["cells"] = [c for c in nb["cells"] if "check-solution" not in c.get("metadata", {}).get("tags", [])]
        for cell in nb["cells"]:
            if cell["cell_type"] == "code" and "solution" in cell.get("metadata", {}).get("tags", []):
                cell["source"] = stub(_source(cell))
                cell["metadata"]["tags"] = [t for t in cell["metadata"]["tags"] if t != "hide-input"]
                count += 1
        out = dest / path.relative_to(src)
        out.parent.mkdir(parents=True, exist_ok=True)
        _write(out, nb)
    return count


def student_book(dest: Path) -> int:
    """The book's sources under ``dest`` with every notebook a student version (solutions stubbed, checks of the
    reference solutions dropped); returns the stub count. Building ``dest`` gives a website without solutions."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("_config.yml", "_toc.yml", "references.bib"):
        shutil.copy(ROOT / name, dest / name)
    shutil.rmtree(dest / "chapters", ignore_errors=True)
    shutil.copytree(ROOT / "chapters", dest / "chapters",
                    ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints", "_review_*"))
    return student_version(ROOT / "chapters", dest / "chapters")


def strip_outputs() -> list[Path]:
    changed = []
    for path in notebooks():
        nb = _read(path)
        dirty = False
        for cell in nb["cells"]:
            if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count")):
                cell["outputs"], cell["execution_count"] = [], None
                dirty = True
        if dirty:
            _write(path, nb)
            changed.append(path)
    return changed


def _grade(args: argparse.Namespace) -> int:
    from mmcourse.grading import grade_submissions, summary_table, write_report

    grades = grade_submissions(args.submissions, args.reference, timeout=args.timeout, jobs=args.jobs)
    write_report(grades, args.out, args.reference)
    for row in summary_table(grades).itertuples(index=False):
        print(f"{row.notebook}: {row.points:g}/{row.max_points:g} points")
    failed = sorted({g.notebook for g in grades if not g.ran})
    for notebook in failed:
        print(f"{notebook}: could not be graded", file=sys.stderr)
    print(f"grade sheets in {args.out}")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mmcourse.book", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("static").add_argument("dest", type=Path)
    sub.add_parser("setup-cells").add_argument("--ref", default=None)
    student = sub.add_parser("student")
    student.add_argument("src", type=Path)
    student.add_argument("dest", type=Path)
    grade = sub.add_parser("grade")
    grade.add_argument("submissions", type=Path, nargs="+")
    grade.add_argument("--out", type=Path, required=True)
    grade.add_argument("--reference", type=Path, default=ROOT / "chapters",
                       help="the instructor's notebooks (default: the book's chapters)")
    grade.add_argument("--timeout", type=float, default=300, help="seconds per submission (default 300)")
    grade.add_argument("--jobs", type=int, default=1, help="submissions graded at once (default 1)")
    sub.add_parser("exercise-index")
    sub.add_parser("student-book").add_argument("dest", type=Path)
    sub.add_parser("strip")
    args = parser.parse_args(argv)
    if args.command == "static":
        copy_static(args.dest)
    elif args.command == "setup-cells":
        for path in stamp_setup_cells(args.ref):
            print(f"stamped {path}")
    elif args.command == "student":
        print(f"{student_version(args.src, args.dest)} solution cells stubbed in {args.dest}")
    elif args.command == "grade":
        return _grade(args)
    elif args.command == "student-book":
        print(f"{student_book(args.dest)} solution cells stubbed in {args.dest}")
    elif args.command == "exercise-index":
        from mmcourse.grading import exercise_index

        (ROOT / "chapters" / "appendix" / "exercises.md").write_text(exercise_index(ROOT))
        print(f"wrote {ROOT / 'chapters' / 'appendix' / 'exercises.md'}")
    elif args.command == "strip":
        for path in strip_outputs():
            print(f"stripped {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
