"""The studio inline in a Jupyter notebook: served in the background, shown in a frame."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..planning.session import WhatIfSession
    from ..result import CoverageResult
    from ..study import Study
    from .server import BackgroundServer
    from .studio import Studio

__all__ = ["StudioView", "show_studio"]

#: Studios started in this kernel, kept so that their servers are not collected.
_RUNNING: list[StudioView] = []


class StudioView:
    """A studio served in the background; shows itself as a frame in a notebook.

    Attributes
    ----------
    url : str
        The page's address (this computer only).
    studio : Studio
        Its state: ``view.session.current`` is the result with the edits made on the page.
    """

    def __init__(
        self, studio: Studio, server: BackgroundServer, width: str | int, height: int
    ) -> None:
        self.studio = studio
        self.server = server
        self.url = server.url
        self.width, self.height = width, height

    @property
    def session(self) -> WhatIfSession:
        """The what-if session the page edits (undo, redo, scenario, ``current``)."""
        return self.studio.session

    def stop(self) -> None:
        """Stop the server (the frame then shows nothing new)."""
        self.server.stop()
        if self in _RUNNING:
            _RUNNING.remove(self)

    def _repr_html_(self) -> str:
        from ..outputs.templating import render

        width = f"{self.width}px" if isinstance(self.width, int) else str(self.width)
        return render(
            "circle15.serve", "notebook.html", url=self.url, width=width, height=int(self.height)
        )

    def __repr__(self) -> str:
        return f"StudioView({self.url!r})"


def show_studio(
    result: CoverageResult,
    *,
    study: Study | None = None,
    out_dir: str | Path | None = None,
    port: int = 0,
    width: str | int = "100%",
    height: int = 720,
) -> StudioView:
    """Serve the studio for ``result`` in a background thread and show it in the notebook.

    Parameters
    ----------
    result : CoverageResult
        A result of ``Study.run()``.
    study : Study, optional
        The study it came from: needed only to export outputs (their manifest names the
        study's input files).
    out_dir : path, optional
        Output folder for saved scenarios and exports (default ``out/<study name>``).
    port : int, default 0
        Port on 127.0.0.1 (0: a free one).
    width, height : optional
        Size of the frame.

    Returns
    -------
    StudioView
        Displays as the frame; ``.session`` holds the edits made on the page.
    """
    from ._extra import require_studio_extra

    require_studio_extra()
    from .app import create_app
    from .server import BackgroundServer
    from .studio import Studio

    studio = (
        Studio.from_study(study, out_dir=out_dir, result=result)
        if study is not None
        else Studio(result, out_dir=out_dir)
    )
    server = BackgroundServer(create_app(studio), port=port).start()
    view = StudioView(studio, server, width, height)
    _RUNNING.append(view)
    return view
