"""A griffe extension for the API reference: Sphinx roles in docstrings as code.

The docstrings use reStructuredText roles (``:func:`circle15.select_sites```,
``:mod:`circle15.outputs.staging```) that Sphinx and IDEs understand; mkdocstrings renders
Markdown, where they would show as written. They become inline code here.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(
    r":(?:py:)?(?:func|meth|class|mod|data|attr|exc|obj|const|ref|term):"
    r"`~?([^`<]+?)(?:\s*<[^>]+>)?`"
)


class SphinxRoles(griffe.Extension):
    """Turn ``:role:`target``` into ``target`` as inline code in every docstring."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Rewrite the docstring of each object as griffe loads it."""
        if obj.docstring is not None:
            obj.docstring.value = ROLE.sub(r"`\1`", obj.docstring.value)
