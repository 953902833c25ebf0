"""Response headers every answer carries: security headers, and CORS for the listed origins.

Both are Falcon middleware so that errors (400, 404, 503) get them too, not only the
responses a resource builds. The pages serve all their script and style as files from this
origin, which is what lets the Content-Security-Policy forbid inline script and style
entirely: text that slipped through as markup still could not run.
"""

from __future__ import annotations

from collections.abc import Iterable

import falcon

#: For the HTML pages: scripts, styles and fetches only from this origin, no inline code, no
#: plugins, not framed, forms post only here.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
#: For everything else (JSON, scripts, styles): nothing in it may load anything.
RESOURCE_CSP = "default-src 'none'; frame-ancestors 'none'"

#: Paths another site's page may call from the browser, when its origin is listed. The
#: widget needs only these two; everything else (article JSON, stats, any admin route) stays
#: same-origin.
CORS_PATHS = frozenset({"/search", "/suggest"})

#: Loaded by `<script src>` on other sites, so it must not be marked same-origin only.
EMBEDDABLE_PATHS = frozenset({"/widget.js"})


def security_headers(page: bool, embeddable: bool) -> list[tuple[str, str]]:
    """The CSP (strict for pages) and the usual hardening headers; the nginx configuration
    (`search.web.nginx`) sends the same with what it answers itself."""
    return [
        ("Content-Security-Policy", PAGE_CSP if page else RESOURCE_CSP),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "same-origin"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Cross-Origin-Resource-Policy", "cross-origin" if embeddable else "same-origin"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
    ]


class SecurityHeaders:
    """Sets the security headers on every response (the four sets made once)."""

    def __init__(self) -> None:
        self._sets = {
            (page, embeddable): tuple(security_headers(page, embeddable))
            for page in (False, True)
            for embeddable in (False, True)
        }

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: object, req_succeeded: bool
    ) -> None:
        is_page = (resp.content_type or "").startswith("text/html")
        resp.set_headers(self._sets[is_page, req.path in EMBEDDABLE_PATHS])


class ListedOriginsCORS(falcon.CORSMiddleware):
    """Falcon's CORS policy for the listed origins only, on `CORS_PATHS` only.

    `Vary: Origin` is added because the answer depends on the Origin header: without it a
    shared cache could hand one site's allowed response to another.
    """

    def __init__(self, origins: Iterable[str]) -> None:
        super().__init__(allow_origins=frozenset(origins))

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: object, req_succeeded: bool
    ) -> None:
        if req.path not in CORS_PATHS:
            return
        resp.append_header("Vary", "Origin")
        super().process_response(req, resp, resource, req_succeeded)
