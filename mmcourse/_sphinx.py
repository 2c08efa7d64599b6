"""A Sphinx extension for the book's website (listed in ``_config.yml``): two fixes to what the themes emit.

* The inline scripts of ``sphinx_thebe`` and ``sphinx_togglebutton`` can reach a page twice (they are added again
  when Jupyter Book re-reads the environment), and the second ``const THEBE_JS_URL`` is a syntax error in the
  browser ("Identifier 'THEBE_JS_URL' has already been declared"). Each page keeps the first copy of each script.
* pydata-sphinx-theme reads the colour mode from the template variable ``default_mode``; left empty, every page logs
  "Got invalid theme mode". The book sets light mode (its plotly figures use the white template).
"""
from __future__ import annotations


def _one_of_each_script(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for script in scripts:
        # an inline script's filename is None or "" depending on who added it
        key = (str(getattr(script, "filename", script) or ""), tuple(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            kept.append(script)
    context["script_files"] = kept


def _light_mode(app, config) -> None:
    context = dict(config.html_context or {})
    context.setdefault("default_mode", "light")
    config.html_context = context


def setup(app):
    app.connect("config-inited", _light_mode)
    app.connect("html-page-context", _one_of_each_script, priority=900)  # after every theme has added its scripts
    return {"parallel_read_safe": True, "parallel_write_safe": True}
