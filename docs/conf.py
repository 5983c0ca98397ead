"""Sphinx configuration of the toolkit's documentation site.

Build it (warnings are errors, as CI does) from the repository root::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

The guide pages are Markdown (MyST) that also read well on GitHub; the API reference is
generated from the numpydoc docstrings, the command-line reference from the click group.
"""

from __future__ import annotations

import toolkit

project = "toolkit"
author = "the toolkit authors"
copyright = "the toolkit authors"  # noqa: A001 - the name Sphinx reads
version = release = toolkit.__version__

extensions = [
    "myst_parser",
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx_click",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build"]
root_doc = "index"

# MyST: GitHub-style heading anchors, so a link such as reports.md#no-copied-rows works both
# here and on GitHub; ::: fences for directives that must stay invisible there.
myst_heading_anchors = 4
myst_enable_extensions = ["colon_fence"]

# autodoc + numpydoc: signatures without type hints (numpydoc's Parameters say them), members in
# source order, no per-member stub pages.
autodoc_typehints = "none"
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "inherited-members": False}
autosummary_generate = False
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks: set[str] = set()

html_theme = "pydata_sphinx_theme"
html_title = f"toolkit {release}"
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_sidebars = {"index": [], "benchmarks": []}
html_show_sourcelink = False

