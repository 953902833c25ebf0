"""The static files: the page's script and style, and the embeddable widget.

Read once per process from the package, served with a content hash as their ETag and
revalidated cheaply (304) after an hour.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources as package_files

import falcon

#: Static files are not fingerprinted (embedders reference /widget.js itself), so they are
#: cached for an hour and then revalidated cheaply with their ETag.
STATIC_CACHE = "public, max-age=3600"

_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


@dataclass(frozen=True)
class StaticFile:
    body: bytes
    content_type: str
    etag: str


def load_static(name: str) -> StaticFile:
    """A file of `search/web/static`, with a content hash as its ETag."""
    body = package_files.files("search.web").joinpath("static", name).read_bytes()
    suffix = name[name.rfind(".") :]
    return StaticFile(body, _TYPES[suffix], hashlib.sha256(body).hexdigest()[:20])


class StaticResource:
    """The page's script and style, and the widget: read once, revalidated by ETag."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.files = {name: load_static(name) for name in names}

    def on_get(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        static = self.files.get(name)
        if static is None:
            raise falcon.HTTPNotFound(title="No such file", description=f"There is no static file {name!r}.")
        resp.etag = static.etag
        resp.cache_control = [STATIC_CACHE]
        if req.if_none_match and any(tag == static.etag or tag == "*" for tag in req.if_none_match):
            resp.status = falcon.HTTP_304
            return
        resp.content_type = static.content_type
        resp.data = static.body


class WidgetResource(StaticResource):
    """`/widget.js`, at a short URL of its own because other sites write it into their pages."""

    def __init__(self) -> None:
        super().__init__(("widget.js",))

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:  # type: ignore[override]
        super().on_get(req, resp, "widget.js")
