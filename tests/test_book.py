"""Tests of mmcourse.book (the tools that maintain the notebooks) and of the notebooks' house rules.

The notebook checks guard against drift: a setup cell edited by hand, committed outputs, a notebook without its
hidden asserts, an exercise without a solution cell. The tool tests work on tiny notebooks in temporary folders and
never write under chapters/.
"""
from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import nbformat
import plotly
import pytest
import yaml
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from mmcourse import book
from mmcourse.book import (STUB_MESSAGE, copy_static, main, notebooks, repository, setup_cell,
                           stamp_setup_cells, strip_outputs, student_version, stub)

CONFIG = yaml.safe_load((book.ROOT / "_config.yml").read_text())
NOTEBOOKS = notebooks()
NB_IDS = [str(p.relative_to(book.ROOT / "chapters")) for p in NOTEBOOKS]


def read(path: Path) -> dict:
    return json.loads(path.read_text())


def code_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def tags(cell: dict) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def first_code_source(path: Path) -> str:
    return book._source(code_cells(read(path))[0])


def write_notebook(path: Path, cells: list) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nb = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                            "language": "python"}})
    nbformat.write(nb, path)
    return path


# --- the repository and the setup cell ------------------------------------------------------------------------------
def test_repository_reads_the_config():
    assert repository() == (CONFIG["repository"]["url"], CONFIG["repository"]["branch"])


def test_repository_of_another_config(tmp_path):
    config = tmp_path / "_config.yml"
    config.write_text("title: x\nrepository:\n  url: https://example.org/a/b\n  path_to_book: ''\n  branch: dev\n")
    assert repository(config) == ("https://example.org/a/b", "dev")
    config.write_text("title: x\nrepository:\n  url: https://example.org/a/b\n")
    with pytest.raises(ValueError, match="expected repository.url and repository.branch"):
        repository(config)


def test_repository_with_quoted_values(tmp_path):
    config = tmp_path / "_config.yml"
    config.write_text('repository:\n  url: "https://example.org/a/b"\n  branch: \'dev\'\n')
    assert repository(config) == ("https://example.org/a/b", "dev")


def test_setup_cell_pins_the_repository_and_branch():
    url, branch = repository()
    cell = setup_cell()
    assert f'"mmcourse @ git+{url}@{branch}"' in cell
    compile(cell, "<setup cell>", "exec")
    pinned = setup_cell("v1.2.3")
    assert f"git+{url}@v1.2.3" in pinned and f"@{branch}\"" not in pinned
    compile(pinned, "<setup cell>", "exec")


def test_setup_cell_is_silent_outside_colab(capsys):
    exec(compile(setup_cell(), "<setup cell>", "exec", dont_inherit=True), {})
    assert capsys.readouterr() == ("", "")


# --- every notebook of the book -------------------------------------------------------------------------------------
def test_there_are_notebooks():
    assert NOTEBOOKS and all(p.suffix == ".ipynb" for p in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NB_IDS)
def test_first_code_cell_is_the_setup_cell(path):
    assert first_code_source(path) == setup_cell(), (
        f"{path}: the first code cell differs from book.setup_cell(); run `python -m mmcourse.book setup-cells`")


def test_the_drift_check_catches_a_hand_edit(tmp_path, monkeypatch):
    copy = tmp_path / "edited.ipynb"
    nb = read(NOTEBOOKS[0])
    first = code_cells(nb)[0]
    first["source"] = book._source(first).replace("--quiet", "-q")
    copy.write_text(json.dumps(nb))
    assert first_code_source(copy) != setup_cell()
    monkeypatch.setattr(book, "notebooks", lambda: [copy])
    assert stamp_setup_cells() == [copy]
    assert first_code_source(copy) == setup_cell()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NB_IDS)
def test_notebook_is_committed_without_outputs(path):
    dirty = [i for i, c in enumerate(read(path)["cells"])
             if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not dirty, f"{path}: cells {dirty} have outputs or execution counts; run `python -m mmcourse.book strip`"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NB_IDS)
def test_notebook_sources_have_no_control_characters(path):
    # A "\approx" typed into a Python string becomes a bell character and "pprox" on the page.
    for number, cell in enumerate(json.loads(path.read_text())["cells"]):
        source = "".join(cell["source"])
        bad = sorted({hex(ord(c)) for c in source if ord(c) < 32 and c not in "\n\t"})
        assert not bad, f"cell {number} holds control characters {bad}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NB_IDS)
def test_notebook_checks_its_results_in_a_hidden_cell(path):
    hidden = [book._source(c) for c in code_cells(read(path)) if "remove-cell" in tags(c)]
    assert any(re.search(r"^\s*assert\b", src, re.M) for src in hidden), f"{path}: no remove-cell assert cell"


EXERCISE = re.compile(r"^\s*(`{3,}|:{3,})\{exercise(-start)?\}", re.M)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NB_IDS)
def test_every_exercise_has_a_solution_cell(path):
    nb = read(path)
    exercises = sum(len(EXERCISE.findall(book._source(c))) for c in nb["cells"] if c["cell_type"] == "markdown")
    solutions = sum("solution" in tags(c) for c in code_cells(nb))
    assert exercises <= solutions, f"{path}: {exercises} exercises, {solutions} solution cells"


def test_exercise_pattern():
    assert len(EXERCISE.findall("````{exercise} A\n:label: a\n````\n:::{exercise-start}\n:::\n```{solution} a\n```")) == 2


# --- stub -----------------------------------------------------------------------------------------------------------
SOLUTION = '''import torch


def tensor_fusion(h1, h2,
                  weight, bias=None):
    """W vec([1; h1] ⊗ [1; h2]) + b for a batch.

    The second paragraph of the docstring stays too.
    """
    ones = torch.ones(h1.shape[0], 1, dtype=h1.dtype)
    one1, one2 = torch.cat([ones, h1], 1), torch.cat([ones, h2], 1)
    return torch.einsum("bi,bj->bij", one1, one2).reshape(h1.shape[0], -1) @ weight.T + bias
'''


def run(source: str) -> dict:
    namespace: dict = {}
    exec(compile(source, "<cell>", "exec", dont_inherit=True), namespace)  # no __future__ flags of this file
    return namespace


def test_stub_keeps_signature_and_docstring():
    student = stub(SOLUTION)
    original, stubbed = run(SOLUTION)["tensor_fusion"], run(student)["tensor_fusion"]
    assert inspect.signature(stubbed) == inspect.signature(original)
    assert stubbed.__doc__ == original.__doc__
    assert "einsum" not in student and "return" not in student
    with pytest.raises(NotImplementedError, match=re.escape(STUB_MESSAGE)):
        stubbed(None, None, None)


def test_stub_of_several_functions_drops_the_other_statements():
    source = ('def helper(x):\n    return x + 1\n\n\n'
              'def answer(x, *, scale=2):\n    """The answer."""\n    return helper(x) * scale\n\n\n'
              'print(answer(1))\nRESULT = answer(2)\n')
    student = stub(source)
    namespace = run(student)  # the trailing calls are gone: running the stub raises nothing
    assert set(namespace) - {"__builtins__"} == {"helper", "answer"}
    assert namespace["answer"].__doc__ == "The answer." and namespace["helper"].__doc__ is None
    assert str(inspect.signature(namespace["answer"])) == "(x, *, scale=2)"
    for name in ("helper", "answer"):
        with pytest.raises(NotImplementedError, match=re.escape(STUB_MESSAGE)):
            namespace[name](1)
    assert student.index("def helper") < student.index("def answer")


def test_stub_keeps_the_indentation():
    namespace = run(stub("def f(x):\n  '''two-space body'''\n  return x\n"))
    assert namespace["f"].__doc__ == "two-space body"
    with pytest.raises(NotImplementedError):
        namespace["f"](0)


@pytest.mark.parametrize("source", ["print(1 + 1)\n", "# only a comment\n", ""])
def test_stub_of_a_cell_without_function(source):
    student = stub(source)
    assert student == f"# {STUB_MESSAGE}\n"
    run(student)


def test_stub_of_a_value_solution_is_not_implemented():
    """A solution that is a value (a dict of predictions, a number) becomes NotImplemented, which the checkers
    report as "not attempted"; its imports stay."""
    student = stub("import math\nguess: dict = {'a': True}\nratio = math.pi\nratio = 2 * ratio\nprint(ratio)\n")
    assert student == f"import math\n# {STUB_MESSAGE}\nguess = NotImplemented\nratio = NotImplemented\n"
    namespace = run(student)
    assert namespace["guess"] is NotImplemented and namespace["ratio"] is NotImplemented


def test_stub_keeps_the_imports_its_signature_needs():
    source = "from torch import Tensor\n\n\ndef f(h: Tensor) -> Tensor:\n    return h\n"
    with pytest.raises(NotImplementedError):
        run(stub(source))["f"](None)


def test_stub_of_a_one_line_function():
    with pytest.raises(NotImplementedError):
        run(stub("def f(x): return x + 1\n"))["f"](1)


def test_stub_of_a_class_defines_the_class():
    namespace = run(stub('class Fusion:\n    """A fusion."""\n\n    def forward(self, x):\n        return x\n'))
    with pytest.raises(NotImplementedError):
        namespace["Fusion"]().forward(1)


# --- student versions -----------------------------------------------------------------------------------------------
CHECK = "from mmcourse.exercises import check_tensor_fusion\nresult = check_tensor_fusion(tensor_fusion)\nresult"


def tiny_book(root: Path) -> Path:
    src = root / "src"
    write_notebook(src / "part" / "tiny.ipynb", [
        new_markdown_cell("# Tiny\n\n````{exercise} Tensor fusion\n:label: ex-tiny\nWrite it.\n````"),
        new_code_cell("import math"),
        new_code_cell(SOLUTION, metadata={"tags": ["solution", "hide-input"]}),
        new_code_cell(CHECK),
        new_code_cell("assert result.passed", metadata={"tags": ["remove-cell", "check-solution"]}),
        new_code_cell("assert math.pi > 3", metadata={"tags": ["remove-cell"]}),
    ])
    write_notebook(src / "plain.ipynb", [new_markdown_cell("# No exercise"), new_code_cell("1 + 1")])
    write_notebook(src / "part" / ".ipynb_checkpoints" / "tiny-checkpoint.ipynb", [new_code_cell("1")])
    return src


def test_student_version(tmp_path):
    src = tiny_book(tmp_path)
    before = {p: p.read_bytes() for p in src.rglob("*.ipynb")}
    dest = tmp_path / "student"
    assert student_version(src, dest) == 1
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*.ipynb")) == ["part/tiny.ipynb", "plain.ipynb"]
    assert {p: p.read_bytes() for p in src.rglob("*.ipynb")} == before  # the source is left alone
    nb = nbformat.read(dest / "part" / "tiny.ipynb", as_version=4)
    nbformat.validate(nb)
    original = nbformat.read(src / "part" / "tiny.ipynb", as_version=4)
    # the solution is stubbed and unfolded; the hidden check of the reference solution is dropped; the rest is kept
    assert [c.source for c in nb.cells] == [original.cells[0].source, "import math", stub(SOLUTION), CHECK,
                                            "assert math.pi > 3"]
    assert nb.cells[2].metadata["tags"] == ["solution"]
    assert nb.cells[4].metadata["tags"] == ["remove-cell"]
    assert nbformat.read(dest / "plain.ipynb", as_version=4).cells == nbformat.read(src / "plain.ipynb",
                                                                                       as_version=4).cells


def test_student_version_is_graded_as_not_attempted(tmp_path):
    """The same check cell grades the reference solution (PASS) and the student's stub (not attempted)."""
    src = tiny_book(tmp_path)
    student_version(src, tmp_path / "student")
    for folder, passed, message in [(src, True, "matches TensorFusion"), (tmp_path / "student", False,
                                                                           "not attempted")]:
        cells = nbformat.read(folder / "part" / "tiny.ipynb", as_version=4).cells
        namespace = run(cells[2].source)
        exec(compile(cells[3].source, "<check>", "exec", dont_inherit=True), namespace)
        assert namespace["result"].passed is passed and message in namespace["result"].message


# --- strip and setup-cells on temporary notebooks -------------------------------------------------------------------
def dirty_and_clean(root: Path) -> tuple[Path, Path]:
    dirty = write_notebook(root / "dirty.ipynb", [
        new_markdown_cell("text"),
        new_code_cell("print(1)", execution_count=3, outputs=[new_output("stream", name="stdout", text="1\n")]),
        new_code_cell("x = 2", execution_count=4),
    ])
    clean = write_notebook(root / "clean.ipynb", [new_code_cell("print(1)")])
    return dirty, clean


def test_strip_outputs(tmp_path, monkeypatch):
    dirty, clean = dirty_and_clean(tmp_path)
    clean_bytes = clean.read_bytes()
    monkeypatch.setattr(book, "notebooks", lambda: [dirty, clean])
    assert strip_outputs() == [dirty]
    nb = nbformat.read(dirty, as_version=4)
    nbformat.validate(nb)
    assert [(c.get("outputs"), c.get("execution_count")) for c in nb.cells] == [(None, None), ([], None), ([], None)]
    assert [c.source for c in nb.cells] == ["text", "print(1)", "x = 2"]
    assert clean.read_bytes() == clean_bytes
    assert strip_outputs() == []


def test_stamp_setup_cells(tmp_path, monkeypatch):
    a = write_notebook(tmp_path / "a.ipynb", [new_markdown_cell("# A"), new_code_cell("import mmcourse"),
                                              new_code_cell("1 + 1")])
    b = write_notebook(tmp_path / "b.ipynb", [new_code_cell(setup_cell(), metadata={"tags": ["hide-input"]})])
    monkeypatch.setattr(book, "notebooks", lambda: [a, b])
    assert stamp_setup_cells() == [a]
    assert [book._source(c) for c in read(a)["cells"]] == ["# A", setup_cell(), "1 + 1"]
    assert read(a)["cells"][1]["metadata"]["tags"] == ["hide-input"]  # folded on the website
    assert stamp_setup_cells() == []
    assert stamp_setup_cells("v2") == [a, b]
    assert first_code_source(a) == first_code_source(b) == setup_cell("v2")
    nbformat.validate(nbformat.read(a, as_version=4))


# --- the command line -----------------------------------------------------------------------------------------------
def test_cli_student(tmp_path, capsys):
    src, dest = tiny_book(tmp_path), tmp_path / "out"
    assert main(["student", str(src), str(dest)]) == 0
    assert capsys.readouterr().out == f"1 solution cells stubbed in {dest}\n"
    assert (dest / "part" / "tiny.ipynb").exists()


def test_cli_setup_cells_and_strip(tmp_path, monkeypatch, capsys):
    dirty, clean = dirty_and_clean(tmp_path)
    monkeypatch.setattr(book, "notebooks", lambda: [dirty, clean])
    assert main(["setup-cells", "--ref", "abc123"]) == 0
    assert capsys.readouterr().out == f"stamped {dirty}\nstamped {clean}\n"
    assert "@abc123" in first_code_source(dirty)
    assert main(["strip"]) == 0
    assert capsys.readouterr().out == f"stripped {dirty}\n"


@pytest.mark.parametrize("argv", [[], ["publish"], ["student", "only-src"], ["grade"]])
def test_cli_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2 and "usage: python -m mmcourse.book" in capsys.readouterr().err


# --- static files ---------------------------------------------------------------------------------------------------
def test_copy_static(tmp_path, capsys):
    dest = tmp_path / "_vendor"
    assert main(["static", str(dest)]) == 0
    plotly_js = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    assert (dest / "plotly.min.js").read_bytes() == plotly_js.read_bytes()
    assert (dest / "mathjax" / "tex-svg.js").stat().st_size > 100_000
    files = [p.relative_to(dest).as_posix() for p in dest.rglob("*")]
    assert not [f for f in files if "chtml" in f or f.endswith("-full.js") or re.search(r"(^|/)(fonts|sre)(/|$)", f)]
    (dest / "mathjax" / "stale.js").write_text("old")
    copy_static(dest)  # a second copy replaces the MathJax folder
    assert not (dest / "mathjax" / "stale.js").exists() and (dest / "mathjax" / "tex-svg.js").exists()
