"""The teaching view that show_source puts above a method's full source (``mmcourse._source``)."""
import pytest

from mmcourse._source import CHECKS_LEFT_OUT, SET_UP_LEFT_OUT, teaching_view
from mmcourse.alignment import ctc_loss, dtw
from mmcourse.alignment.contextual_base import scaled_dot_product_attention
from mmcourse.viz import show_source

FUNCTION = '''
def scaled(x, y, k: int = 2):
    """Docstring, gone from the view."""
    where = "scaled"
    if not isinstance(x, list):
        raise TypeError("scaled: x must be a list")
    x = check_list(where, "x", x)
    x, y = (_check(v) for v in (x, y))
    check_int(where, "k", k)
    for v in y:
        if v is None:
            raise ValueError("scaled: y holds None")
    total = 0
    for v in x:
        if v < 0:
            raise ValueError("scaled: negative")
        total += v
    labels = _check_labels(y)  # binds a new name: kept
    try:
        return k * total + len(labels)
    except OverflowError:
        raise
'''


def test_the_view_drops_docstrings_and_checks_only():
    view = teaching_view(FUNCTION)
    assert view.splitlines() == [
        "def scaled(x, y, k: int = 2):",
        "    " + CHECKS_LEFT_OUT,  # and where = "scaled", which only the checks read
        "    total = 0",
        "    for v in x:",
        "        total += v",
        "    labels = _check_labels(y)  # binds a new name: kept",
        "    try:",
        "        return k * total + len(labels)",
        "    except OverflowError:",
        "        raise",  # a handler that only raises is not a check: its block would be empty
    ]


def test_what_only_the_checks_read_goes_with_them():
    source = '''
def f(labels, T):
    for lab in labels:
        needed = len(lab) + 1
        if T < needed:
            raise ValueError("f: too short")
    log = record(labels)  # a call with effects stays, read or not
    total = sum(len(lab) for lab in labels)
    return total
'''
    assert teaching_view(source).splitlines() == [
        "def f(labels, T):",
        "    " + CHECKS_LEFT_OUT,
        "    log = record(labels)  # a call with effects stays, read or not",
        "    total = sum(len(lab) for lab in labels)",
        "    return total",
    ]


def test_a_class_loses_its_docstrings_and_a_function_of_checks_stays_whole():
    source = '''
class Model:
    """Gone."""

    def forward(self, x):
        """Gone too."""
        check_tensor("Model", "x", x)
        return x + 1

    def only_checks(self, x):
        check_tensor("Model", "x", x)
'''
    view = teaching_view(source)
    assert '"""' not in view and "return x + 1" in view
    assert view.count("check_tensor") == 1  # only_checks keeps its body: a view never empties a block


def test_marked_lines_make_the_view():
    source = '''
def f(x):
    """Doc."""
    y = prepare(x)
    # [teach]
    z = y * 2
    # [/teach]
    return finish(z)
'''
    assert teaching_view(source).splitlines() == ["def f(x):", "    " + SET_UP_LEFT_OUT, "    z = y * 2"]


@pytest.mark.parametrize("method, most", [(ctc_loss, 20), (dtw, 20), (scaled_dot_product_attention, 12)])
def test_the_book_shows_the_core_of_its_long_methods(method, most):
    view = show_source(method)
    assert len(view.data.splitlines()) <= most < len(view.full.splitlines())
    assert "[teach]" not in view.full and "[teach]" not in view.data


def test_a_module_is_shown_whole():
    import mmcourse._source as module

    view = show_source(module)
    assert view.data == view.full


def test_the_view_needs_source_text():
    with pytest.raises(TypeError, match="teaching_view: source must be a string, got int"):
        teaching_view(12)
