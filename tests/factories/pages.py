"""Reading back the pages circle15 writes: a built map's layers, an HTML tag checker."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import ClassVar

import folium

from circle15.outputs.webmap.elements import DataLayer


def layer(m: folium.Map, name: str) -> DataLayer:
    """The circle15 layer called ``name`` in a built map."""
    found = [c for c in m._children.values() if isinstance(c, DataLayer) and c.layer_name == name]
    assert len(found) == 1, f"one layer named {name!r}, found {len(found)}"
    return found[0]


class TagChecker(HTMLParser):
    """Record tags, and check that non-void elements are closed in order."""

    VOID: ClassVar[set[str]] = {
        "meta",
        "link",
        "br",
        "img",
        "input",
        "hr",
        "source",
        "wbr",
        "area",
        "base",
        "col",
    }

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()
