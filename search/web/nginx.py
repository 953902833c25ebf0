"""The nginx configuration that ships with the service (`vnsearch nginx-config`).

gunicorn's workers are few and each serves one request at a time, so a client that sends its
request slowly holds one of them for as long as it likes. nginx reads every request whole
(headers and body) before handing it on, so slow clients cost it a connection slot and no
worker; it also answers the floods the service should never see (over-eager clients, bodies
past the limit) itself. Its own answers are made to look like the service's: JSON
`{title, description}` built by Falcon's serializer, with the same security headers and, for
the listed origins, CORS, so the widget on another site can still show why it was refused.

The generated text is either a fragment for an existing nginx (http-level zones, an upstream
and a `server` block, to include inside `http {}`) or, with `standalone`, a whole nginx.conf
that runs as an unprivileged user with `nginx -p DIR -c FILE`: every path nginx writes to is
relative to DIR.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from importlib import resources as package_files
from pathlib import Path

import falcon

from search.settings import MAX_BODY_BYTES, Settings
from search.web.assets import STATIC_CACHE
from search.web.headers import security_headers

_HOST_RE = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)
_SERVER_NAME_RE = re.compile(r"^(?:_|(?:\*\.)?[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(?:\.\*)?)$")
#: Characters nginx would read as syntax in a path written into the configuration.
_UNSAFE_PATH_CHARS = set(" \t\r\n;{}'\"$#\\")


def _port(text: str, what: str) -> int:
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 65535:
        raise ValueError(f"{what} needs a port from 1 to 65535, got {text!r}")
    return int(text)


def _host_port(value: str, what: str, host_required: bool) -> tuple[str | None, int]:
    """Split "HOST:PORT", "[IPv6]:PORT" or (when the host is optional) "PORT"."""
    value = value.strip()
    if value.startswith("["):
        host, sep, port = value[1:].partition("]:")
        if not sep:
            raise ValueError(f"{what} takes [IPv6]:PORT, got {value!r}")
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"{what}: {host!r} is not an IPv6 address") from None
        return f"[{host}]", _port(port, what)
    host, sep, port = value.rpartition(":")
    if not sep:
        if host_required:
            raise ValueError(f"{what} takes HOST:PORT, got {value!r}")
        return None, _port(value, what)
    if not _HOST_RE.match(host):
        raise ValueError(f"{what}: {host!r} is not a host name or IPv4 address (write IPv6 as [::1]:PORT)")
    return host, _port(port, what)


def _static_dir() -> Path:
    return Path(str(package_files.files("search.web").joinpath("static")))


@dataclass(frozen=True)
class ProxyConfig:
    """What the generated configuration says. The defaults suit one site searched by people:
    a person types and pages at a few requests a second, so a client address is allowed
    `search_rate` searches a second with a burst of `search_burst` on top (offices share one
    address), and twice that for autocomplete, which fires per keystroke."""

    #: Where nginx listens: "PORT" or "ADDRESS:PORT".
    listen: str = "8080"
    #: The service: "HOST:PORT" as gunicorn binds it.
    upstream: str = "127.0.0.1:8000"
    server_name: str = "_"
    #: Largest request body; the service's own limit (`VNSEARCH_MAX_BODY_BYTES`).
    max_body_bytes: int = MAX_BODY_BYTES
    #: Origins allowed to read nginx's own error answers from the browser (the widget's).
    cors_origins: tuple[str, ...] = ()
    #: The files behind /widget.js and /static/, served by nginx itself.
    static_dir: Path = field(default_factory=_static_dir)
    search_rate: int = 10
    search_burst: int = 20
    suggest_rate: int = 20
    suggest_burst: int = 40
    #: Requests one client address may have in progress at once on the limited paths.
    connections_per_client: int = 10
    #: Seconds a client may take between two reads of its request headers or body.
    client_timeout: int = 10
    #: Seconds the service may take to answer (a search is cut at its budget long before).
    upstream_timeout: int = 30

    def __post_init__(self) -> None:
        _host_port(self.listen, "--listen", host_required=False)
        _host_port(self.upstream, "--upstream", host_required=True)
        if not _SERVER_NAME_RE.match(self.server_name) or ".." in self.server_name:
            raise ValueError(
                f"--server-name takes a host name like search.example.org, *.example.org or _, got {self.server_name!r}"
            )
        if _UNSAFE_PATH_CHARS & set(str(self.static_dir)):
            raise ValueError(f"the static folder's path {str(self.static_dir)!r} has characters nginx would misread")
        for name in (
            "max_body_bytes",
            "search_rate",
            "search_burst",
            "suggest_rate",
            "suggest_burst",
            "connections_per_client",
            "client_timeout",
            "upstream_timeout",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a whole number above 0, got {value!r}")
        for origin in self.cors_origins:
            if _UNSAFE_PATH_CHARS & set(origin):
                raise ValueError(f"the origin {origin!r} has characters nginx would misread")

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: object) -> ProxyConfig:
        """The service's own limits and origins, and its address as the upstream (a service
        listening on every interface is reached on loopback)."""
        host = settings.host
        if host in ("0.0.0.0", "", "*"):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        values: dict[str, object] = dict(
            upstream=f"{host}:{settings.port}",
            max_body_bytes=settings.max_body_bytes,
            cors_origins=settings.cors_origins,
        )
        values.update({name: value for name, value in overrides.items() if value is not None})
        return cls(**values)  # type: ignore[arg-type]


#: nginx's own answers, as the service would word them: status -> (title, description).
ERRORS: dict[int, tuple[str, str]] = {
    400: ("Bad request", "The request could not be read: a malformed request line, or headers too large."),
    403: ("Forbidden", "This path cannot be listed."),
    404: ("Not found", "There is no such file."),
    408: ("Request timeout", "The request was not sent in time."),
    413: ("Request body too large", "The body may be at most {max_body_bytes} bytes."),
    414: ("Request line too long", "The path and query string together may be at most 8 KiB."),
    429: ("Too many requests", "This address sent too many requests at once; retry in a second."),
    500: ("Internal error", "The proxy could not handle the request."),
    502: ("Service unavailable", "The search service is not answering; retry shortly."),
    503: ("Service unavailable", "The search service is overloaded; retry shortly."),
    504: ("Service timeout", "The search service took too long to answer; retry shortly."),
}
#: Seconds a refused client is told to wait (the rate limits refill every second).
RETRY_AFTER = {429: 1, 502: 5, 503: 5, 504: 5}


def error_body(status: int, config: ProxyConfig) -> str:
    """The JSON nginx sends for `status`: Falcon's own serialization of the same error."""
    title, description = ERRORS[status]
    error = falcon.HTTPError(status, title=title, description=description.format(max_body_bytes=config.max_body_bytes))
    return error.to_json().decode("utf-8")


def _quoted(text: str) -> str:
    """A single-quoted nginx string. `$` would start a variable in `return`; none of our texts
    have one, so it is refused rather than escaped."""
    if "$" in text:
        raise ValueError(f"cannot write {text!r} into the nginx configuration")
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _headers(cross_origin: bool, indent: str) -> list[str]:
    """The service's security headers (`search.web.headers`), for what nginx answers itself."""
    pairs = security_headers(page=False, embeddable=cross_origin)
    return [f"{indent}add_header {name} {_quoted(value)} always;" for name, value in pairs]


#: Where the error answers live. Not named locations: nginx cannot redirect to one before it
#: has read the request line (a 414, a 400), so each is an internal URI instead.
ERROR_PREFIX = "/_vnsearch_error/"
#: Headers too large: nginx's internal status, sent to the client as a 400.
_HEADER_TOO_LARGE = 494


def _error_pages(indent: str) -> list[str]:
    pages = [f"{indent}error_page {status} {ERROR_PREFIX}{status};" for status in sorted(ERRORS)]
    return pages + [f"{indent}error_page {_HEADER_TOO_LARGE} ={400} {ERROR_PREFIX}400;"]


def _server(config: ProxyConfig, access_log: str) -> list[str]:
    static = str(config.static_dir).rstrip("/")
    limited = {
        "search": f"limit_req zone=vnsearch_search burst={config.search_burst} nodelay;",
        "suggest": f"limit_req zone=vnsearch_suggest burst={config.suggest_burst} nodelay;",
    }
    conn = f"limit_conn vnsearch_conn {config.connections_per_client};"
    t = config.client_timeout
    lines = [
        "server {",
        f"    listen {config.listen};",
        f"    server_name {config.server_name};",
        "    server_tokens off;",
        f"    access_log {access_log} vnsearch;",
        "",
        "    # Requests are read whole by nginx: a slow client waits here, not on a gunicorn worker.",
        f"    client_header_timeout {t}s;",
        f"    client_body_timeout {t}s;",
        f"    send_timeout {t}s;",
        "    keepalive_timeout 15s;",
        f"    client_max_body_size {config.max_body_bytes};",
        "    client_body_buffer_size 64k;",
        "    large_client_header_buffers 4 8k;",
        "",
        "    gzip on;",
        "    gzip_comp_level 5;",
        "    gzip_min_length 1024;",
        "    gzip_proxied any;",
        "    gzip_vary on;",
        "    gzip_types application/json text/javascript text/css;",
        "",
        "    limit_req_status 429;",
        "    limit_conn_status 429;",
        "    limit_req_log_level warn;",
        "    limit_conn_log_level warn;",
        *_error_pages("    "),
        "",
        "    proxy_http_version 1.1;",
        '    proxy_set_header Connection "";',
        "    proxy_set_header Host $host;",
        "    # Replaced, never appended to: what a client sends in these headers is not passed on.",
        "    proxy_set_header X-Forwarded-For $remote_addr;",
        "    proxy_set_header X-Forwarded-Proto $scheme;",
        '    proxy_set_header X-Forwarded-Protocol "";',
        '    proxy_set_header X-Forwarded-Ssl "";',
        '    proxy_set_header Forwarded "";',
        "    proxy_request_buffering on;",
        "    proxy_buffering on;",
        "    proxy_connect_timeout 5s;",
        f"    proxy_send_timeout {config.upstream_timeout}s;",
        f"    proxy_read_timeout {config.upstream_timeout}s;",
        "",
        "    # Each of these runs a search (the page renders one, /feed is a saved one, /search.csv exports one).",
        *[
            line
            for path in ("= /search", "= /search.csv", "= /", "= /feed", "/feed/")
            for line in (
                f"    location {path} {{",
                f"        {limited['search']}",
                f"        {conn}",
                "        proxy_pass http://vnsearch_app;",
                "    }",
            )
        ],
        "    location = /suggest {",
        f"        {limited['suggest']}",
        f"        {conn}",
        "        proxy_pass http://vnsearch_app;",
        "    }",
        "    location / {",
        "        proxy_pass http://vnsearch_app;",
        "    }",
        "",
        "    # The page's and the widget's files, from disk, with the cache headers the service sends.",
    ]
    for location, target, cross_origin in (
        ("= /widget.js", f"{static}/widget.js", True),
        ("/static/", f"{static}/", False),
    ):
        lines += [
            f"    location {location} {{",
            f"        alias {target};",
            "        types { text/javascript js; text/css css; }",
            "        default_type application/octet-stream;",
            "        charset utf-8;",
            "        charset_types text/javascript text/css;",
            f"        add_header Cache-Control {_quoted(STATIC_CACHE)} always;",
            *_headers(cross_origin, "        "),
            "    }",
        ]
    for status in sorted(ERRORS):
        lines += [
            f"    location = {ERROR_PREFIX}{status} {{",
            "        internal;",
            "        default_type application/json;",
            *_headers(False, "        "),
            "        add_header Access-Control-Allow-Origin $vnsearch_cors_origin always;",
            "        add_header Vary Origin always;",
        ]
        if status in RETRY_AFTER:
            lines.append(f"        add_header Retry-After {RETRY_AFTER[status]} always;")
        lines += [f"        return {status} {_quoted(error_body(status, config))};", "    }"]
    lines.append("}")
    return lines


def _http_level(config: ProxyConfig) -> list[str]:
    origins = [f"    {_quoted(origin)} $http_origin;" for origin in config.cors_origins]
    return [
        "upstream vnsearch_app {",
        f"    server {config.upstream};",
        "    keepalive 16;",
        "}",
        "",
        "# A counter per client address, each zone in 10 MB of shared memory.",
        f"limit_req_zone $binary_remote_addr zone=vnsearch_search:10m rate={config.search_rate}r/s;",
        f"limit_req_zone $binary_remote_addr zone=vnsearch_suggest:10m rate={config.suggest_rate}r/s;",
        "limit_conn_zone $binary_remote_addr zone=vnsearch_conn:10m;",
        "",
        "# The listed origins (VNSEARCH_CORS_ORIGINS) may read nginx's own error answers.",
        "map $http_origin $vnsearch_cors_origin {",
        '    default "";',
        *origins,
        "}",
        "",
        "# The path without the query string: search words are not logged.",
        "log_format vnsearch '$remote_addr [$time_iso8601] \"$request_method $uri\" $status '",
        "                    '$body_bytes_sent $request_time $upstream_response_time';",
        "",
    ]


def render(config: ProxyConfig, standalone: bool = False) -> str:
    """The configuration text: an include for `http {}`, or with `standalone` a whole nginx.conf."""
    header = [
        "# vnsearch behind nginx, written by `vnsearch nginx-config`.",
        "# TLS is left to the operator: add `listen 443 ssl;` and a certificate to the server block,",
        "# and keep the service itself listening on loopback only.",
    ]
    if not standalone:
        header.append("# Include inside nginx's http {} block, e.g. as /etc/nginx/conf.d/vnsearch.conf.")
        body = _http_level(config) + _server(config, "/var/log/nginx/vnsearch.access.log")
        return "\n".join(header + [""] + body) + "\n"
    header.append(
        "# Run as any user: nginx -p DIR -c FILE; nginx keeps its pid, access log and temporary files in DIR."
    )
    inner = [
        "client_body_temp_path client_body_temp;",
        "proxy_temp_path proxy_temp;",
        "fastcgi_temp_path fastcgi_temp;",
        "uwsgi_temp_path uwsgi_temp;",
        "scgi_temp_path scgi_temp;",
        "",
        *_http_level(config),
        *_server(config, "access.log"),
    ]
    return (
        "\n".join(
            [
                *header,
                "",
                "daemon off;",
                "worker_processes auto;",
                "pid nginx.pid;",
                "error_log stderr warn;",
                "",
                "events {",
                "    # Each slow client holds one of these (a few kilobytes), not a worker of the service.",
                "    worker_connections 4096;",
                "}",
                "",
                "http {",
                *[f"    {line}" if line else "" for line in inner],
                "}",
            ]
        )
        + "\n"
    )
