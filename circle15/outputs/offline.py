"""Self-contained HTML: inline the vendored scripts and stylesheets a folium page links to.

Maps are opened on government networks without internet access, so a page must not load
anything from a CDN. Leaflet is vendored in ``circle15/_static`` (see its ``README.md``);
``_static/manifest.json`` maps each CDN URL that folium writes to the packaged copy and
records the copy's sha256. :func:`inline_assets` swaps every ``<script src>`` and
stylesheet ``<link>`` for the packaged text and raises :class:`OfflineAssetError` when one
is not vendored, so a new plugin cannot quietly bring a CDN back.

Only optional map tiles are still fetched from the network at view time; every vector layer
renders without them.
"""

from __future__ import annotations

import base64
import hashlib
import html as html_lib
import json
import mimetypes
import posixpath
import re
from functools import cache
from html.parser import HTMLParser
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

from branca.element import Figure

from ..errors import OfflineAssetError

__all__ = [
    "OfflineAssetError",
    "OfflineFigure",
    "asset_text",
    "find_external_assets",
    "inline_assets",
    "vendored_urls",
]

#: Package folder holding the vendored files and ``manifest.json``.
STATIC_DIR = "_static"
MANIFEST_FILE = "manifest.json"

# `<script ... src=...></script>` with nothing between the tags, and any `<link ...>`.
_SCRIPT_SRC = re.compile(r"<script\b(?P<attrs>[^>]*)>\s*</script\s*>", re.IGNORECASE)
_LINK = re.compile(r"<link\b(?P<attrs>[^>]*?)/?>", re.IGNORECASE)
_ATTR = re.compile(
    r"""(?P<name>[^\s=/>"']+)(?:\s*=\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>[^\s>]+)))?"""
)
# `url(...)` and `@import "..."` in CSS.
_CSS_URL = re.compile(r"""url\(\s*(?P<q>['"]?)(?P<url>[^'")]+)(?P=q)\s*\)""", re.IGNORECASE)
_CSS_IMPORT = re.compile(r"""@import\s+(?:url\(\s*)?['"]?(?P<url>[^'")\s;]+)""", re.IGNORECASE)
_SOURCE_MAP = re.compile(r"^\s*//# sourceMappingURL=\S+\s*$", re.MULTILINE)
# Attributes that make no sense once the file is inline.
_DROP_SCRIPT_ATTRS = {"src", "integrity", "crossorigin", "referrerpolicy", "async", "defer"}
_LINK_RELS_THAT_LOAD = {"stylesheet", "preload", "modulepreload", "prefetch", "import"}


def _static_root() -> Traversable:
    return resources.files("circle15").joinpath(STATIC_DIR)


@cache
def _manifest() -> dict[str, Any]:
    text = _static_root().joinpath(MANIFEST_FILE).read_text(encoding="utf-8")
    manifest: dict[str, Any] = json.loads(text)
    unknown = sorted(set(manifest["urls"].values()) - set(manifest["files"]))
    if unknown:
        raise OfflineAssetError(
            f"_static/{MANIFEST_FILE}: URLs point at files with no entry under 'files': {unknown}"
        )
    return manifest


@cache
def _vendored_bytes(relpath: str) -> bytes:
    """Return a vendored file's bytes after checking them against the manifest's sha256."""
    entry = _manifest()["files"].get(relpath)
    if entry is None:
        raise OfflineAssetError(f"{relpath!r} is not listed in _static/{MANIFEST_FILE}")
    node = _static_root()
    for part in relpath.split("/"):
        node = node.joinpath(part)
    try:
        data = node.read_bytes()
    except FileNotFoundError:
        raise OfflineAssetError(
            f"vendored file circle15/{STATIC_DIR}/{relpath} is missing from the installation"
        ) from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != entry["sha256"]:
        raise OfflineAssetError(
            f"vendored file circle15/{STATIC_DIR}/{relpath} has sha256 {digest}, but "
            f"_static/{MANIFEST_FILE} records {entry['sha256']}: the file was changed or "
            "damaged; restore it with `npm pack` (see _static/README.md)"
        )
    return data


def vendored_urls() -> frozenset[str]:
    """Return the CDN URLs that :func:`inline_assets` can replace with a packaged copy."""
    return frozenset(_manifest()["urls"])


def _normalise(url: str) -> str:
    url = html_lib.unescape(url.strip())
    if url.startswith("//"):
        return "https:" + url
    if url.startswith("http://"):
        return "https://" + url[len("http://") :]
    return url


def _css_with_data_uris(css: str, relpath: str) -> str:
    """Replace relative ``url(...)`` references to vendored files with ``data:`` URIs."""
    folder = posixpath.dirname(relpath)
    files = _manifest()["files"]

    def embed(match: re.Match[str]) -> str:
        target = posixpath.normpath(posixpath.join(folder, match["url"].strip()))
        if target not in files:  # e.g. #default#VML, or an image that is not vendored
            return match[0]
        mime = mimetypes.guess_type(target)[0] or "application/octet-stream"
        payload = base64.b64encode(_vendored_bytes(target)).decode("ascii")
        return f'url("data:{mime};base64,{payload}")'

    return _CSS_URL.sub(embed, css)


@cache
def asset_text(url: str) -> str:
    """Return the packaged text for a vendored CDN ``url``, ready to inline.

    Source-map comments are removed (they would make browser tools look for a ``.map``
    file next to the page) and images a stylesheet refers to become ``data:`` URIs.

    Parameters
    ----------
    url : str
        A URL listed in :func:`vendored_urls` (``//`` and ``http://`` forms are accepted).

    Returns
    -------
    str
        The file's text.

    Raises
    ------
    OfflineAssetError
        If the URL is not vendored or the packaged file does not match its sha256.
    """
    relpath = _manifest()["urls"].get(_normalise(url))
    if relpath is None:
        raise OfflineAssetError(f"{url} is not vendored in circle15/{STATIC_DIR}")
    text = _SOURCE_MAP.sub("", _vendored_bytes(relpath).decode("utf-8"))
    if relpath.endswith(".css"):
        text = _css_with_data_uris(text, relpath)
    return text


def _attrs(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for m in _ATTR.finditer(text):
        value = m["dq"] if m["dq"] is not None else m["sq"] if m["sq"] is not None else m["bare"]
        out[m["name"].lower()] = html_lib.unescape(value) if value is not None else ""
    return out


def _attr_text(attrs: dict[str, str]) -> str:
    return "".join(
        f' {k}="{html_lib.escape(v, quote=True)}"' if v else f" {k}" for k, v in attrs.items()
    )


def _is_stylesheet(attrs: dict[str, str]) -> bool:
    return "stylesheet" in attrs.get("rel", "").lower().split()


def _inline_script(match: re.Match[str]) -> str:
    attrs = _attrs(match["attrs"])
    src = attrs.get("src")
    if not src or _normalise(src) not in vendored_urls():
        return match[0]  # inline already, or left for find_external_assets to report
    code = asset_text(src)
    # "</script" inside the code would end the element early; "<\/" means the same in JS.
    code = re.sub(r"</(script)", r"<\\/\1", code, flags=re.IGNORECASE)
    kept = {k: v for k, v in attrs.items() if k not in _DROP_SCRIPT_ATTRS}
    return f"<script{_attr_text(kept)}>\n{code}\n</script>"


def _inline_stylesheet(match: re.Match[str]) -> str:
    attrs = _attrs(match["attrs"])
    href = attrs.get("href")
    if not _is_stylesheet(attrs) or not href or _normalise(href) not in vendored_urls():
        return match[0]
    css = asset_text(href)
    if re.search(r"</style", css, re.IGNORECASE):
        raise OfflineAssetError(f"{href}: the stylesheet contains '</style' and cannot be inlined")
    media = f' media="{html_lib.escape(attrs["media"])}"' if attrs.get("media") else ""
    return f"<style{media}>\n{css}\n</style>"


class _ExternalAssetFinder(HTMLParser):
    """Collect scripts, stylesheets and CSS imports that would be fetched over a URL."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag == "script" and a.get("src") and not a["src"].startswith("data:"):
            self.found.append(f'<script src="{a["src"]}">')
        elif tag == "link" and a.get("href") and not a["href"].startswith("data:"):
            rels = set(a.get("rel", "").lower().split())
            if rels & _LINK_RELS_THAT_LOAD:
                self.found.append(f'<link rel="{a["rel"]}" href="{a["href"]}">')
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if not self._in_style:
            return
        urls = [m["url"] for m in _CSS_IMPORT.finditer(data)]
        urls += [m["url"] for m in _CSS_URL.finditer(data) if _is_remote(m["url"])]
        self.found.extend(f"CSS url({u})" for u in urls if not u.startswith("data:"))


def _is_remote(url: str) -> bool:
    return bool(re.match(r"^\s*(?:[a-z][a-z0-9+.-]*:)?//", url, re.IGNORECASE))


def find_external_assets(html: str) -> list[str]:
    """List the scripts and stylesheets a page would load from outside itself.

    Parameters
    ----------
    html : str
        A complete HTML page.

    Returns
    -------
    list of str
        One description per ``<script src>``, stylesheet/preload ``<link href>``, CSS
        ``@import`` and remote CSS ``url()``, in page order; empty for a self-contained page.
        ``data:`` URIs do not count. Links to web pages (``<a href>``) and map tiles that
        Leaflet requests from JavaScript are not assets and are not listed.
    """
    finder = _ExternalAssetFinder()
    finder.feed(html)
    finder.close()
    return finder.found


def inline_assets(html: str) -> str:
    """Replace linked scripts and stylesheets with the vendored copies, inline.

    Parameters
    ----------
    html : str
        A complete HTML page, e.g. ``folium.Map.get_root().render()``.

    Returns
    -------
    str
        The same page with every ``<script src=URL></script>`` and
        ``<link rel="stylesheet" href=URL>`` whose URL is in ``_static/manifest.json``
        replaced by ``<script>`` / ``<style>`` elements holding the file's text.

    Raises
    ------
    OfflineAssetError
        If any script or stylesheet would still be loaded from a URL (the message lists them
        and says how to vendor them), or a vendored file fails its sha256 check.
    """
    page = _SCRIPT_SRC.sub(_inline_script, html)
    page = _LINK.sub(_inline_stylesheet, page)
    remaining = find_external_assets(page)
    if remaining:
        listing = "\n  ".join(remaining)
        raise OfflineAssetError(
            "the map would load these files from outside the page, which fails on networks "
            f"without internet access:\n  {listing}\n"
            f"Vendor each one into circle15/{STATIC_DIR} with `npm pack <package>@<version>`, "
            f"add it to {STATIC_DIR}/{MANIFEST_FILE} and README.md, or stop using the folium "
            "plugin that adds it."
        )
    return page


class OfflineFigure(Figure):
    """A branca ``Figure`` whose rendered page has every script and stylesheet inline.

    Make it the root of a folium map (``OfflineFigure().add_child(m)``) and ``m.save``,
    ``m.get_root().render()`` and notebook display all give a self-contained page.
    """

    def render(self, **kwargs: Any) -> str:
        """Render the page, then inline its assets with :func:`inline_assets`."""
        return inline_assets(super().render(**kwargs))
