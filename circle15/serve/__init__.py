"""The planning studio: a local web app to click sites on a map and watch coverage change.

``circle15 serve [CONFIG]`` starts it (:mod:`circle15.serve.cli`); in a notebook,
``result.studio()`` shows it inline (:func:`circle15.serve.notebook.show_studio`). The
parts: :class:`Studio` (the baseline, the what-if session and the folders),
:func:`create_app` (the FastAPI application: the page and its JSON API, see
``docs/studio.md``), :class:`BackgroundServer` (uvicorn in a thread). FastAPI and uvicorn
come with the ``studio`` extra (``pip install "circle15[studio]"``); they are imported only
when a studio starts.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import create_app
    from .notebook import StudioView, show_studio
    from .server import BackgroundServer
    from .studio import Studio

_PUBLIC = {
    "Studio": ".studio",
    "create_app": ".app",
    "BackgroundServer": ".server",
    "StudioView": ".notebook",
    "show_studio": ".notebook",
}

__all__ = ["BackgroundServer", "Studio", "StudioView", "create_app", "show_studio"]


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name], __name__), name)
    raise AttributeError(f"module 'circle15.serve' has no attribute {name!r}")
