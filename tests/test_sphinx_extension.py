"""The book's Sphinx extension (``mmcourse._sphinx``): one copy of each script per page, a valid colour mode."""
from pathlib import Path
from types import SimpleNamespace

import yaml
from sphinx.builders.html._assets import _JavaScript

from mmcourse import _sphinx

ROOT = Path(__file__).resolve().parents[1]


def test_each_script_reaches_a_page_once():
    thebe = "const THEBE_JS_URL = 'x';"
    scripts = [_JavaScript("_static/a.js"), _JavaScript(None, body=thebe), _JavaScript("_static/a.js"),
               _JavaScript("", body=thebe), _JavaScript(None, body="var other = 1;")]
    context = {"script_files": scripts}
    _sphinx._one_of_each_script(None, "page", "page.html", context, None)
    assert [(s.filename, s.attributes.get("body")) for s in context["script_files"]] == [
        ("_static/a.js", None), (None, thebe), (None, "var other = 1;")]


def test_default_colour_mode_is_light_unless_set():
    config = SimpleNamespace(html_context={})
    _sphinx._light_mode(None, config)
    assert config.html_context["default_mode"] == "light"
    config = SimpleNamespace(html_context={"default_mode": "dark"})
    _sphinx._light_mode(None, config)
    assert config.html_context["default_mode"] == "dark"


def test_the_book_loads_the_extension():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert "mmcourse._sphinx" in config["sphinx"]["extra_extensions"]
