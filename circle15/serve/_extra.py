"""Whether the ``studio`` extra (FastAPI and uvicorn) is installed."""

from __future__ import annotations

from ..errors import Circle15Error


def require_studio_extra() -> None:
    """Raise a ``Circle15Error`` saying how to install FastAPI and uvicorn when they are not."""
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise Circle15Error(
            f"the studio needs FastAPI and uvicorn ({exc}); install them "
            'with: pip install "circle15[studio]"'
        ) from None
