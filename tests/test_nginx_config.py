"""`vnsearch nginx-config`: what the generated text says, and the input it refuses.

That nginx accepts and applies it is tests/test_proxy.py's part (with the real nginx).
"""

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from search.cli import main
from search.settings import Settings
from search.web.nginx import ERRORS, ProxyConfig, error_body, render


def run(*args: str, **env: str):
    return CliRunner().invoke(main, ["nginx-config", *args], env=env)


def test_the_include_has_zones_an_upstream_and_a_server_block():
    result = run("--listen", "80", "--upstream", "127.0.0.1:9000", "--server-name", "search.example.org")
    assert result.exit_code == 0, result.output
    text = result.output
    assert "server 127.0.0.1:9000;" in text and "listen 80;" in text and "server_name search.example.org;" in text
    assert re.search(r"^limit_req_zone \$binary_remote_addr zone=vnsearch_search:10m rate=10r/s;$", text, re.M)
    assert "daemon off;" not in text and "events {" not in text  # it goes inside an existing http {}
    for directive in (
        "client_header_timeout 10s;",
        "client_body_timeout 10s;",
        "proxy_request_buffering on;",
        "gzip on;",
        "limit_req_status 429;",
        "proxy_set_header X-Forwarded-For $remote_addr;",
        "proxy_set_header X-Forwarded-Proto $scheme;",
        'proxy_set_header X-Forwarded-Ssl "";',
        f"client_max_body_size {Settings().max_body_bytes};",
    ):
        assert directive in text, directive
    for path in ("= /search", "= /search.csv", "= /suggest", "= /feed", "/feed/", "= /"):
        block = text.split(f"location {path} {{", 1)[1].split("}", 1)[0]
        assert "limit_req zone=" in block and "limit_conn vnsearch_conn" in block and "proxy_pass" in block


def test_standalone_runs_from_its_folder():
    text = run("--standalone").output
    assert "daemon off;" in text and "pid nginx.pid;" in text and "http {" in text
    # everything nginx writes is relative to the prefix folder: no root needed
    for name in ("client_body_temp", "proxy_temp", "fastcgi_temp", "uwsgi_temp", "scgi_temp"):
        assert f"{name}_path {name};" in text
    assert "access_log access.log vnsearch;" in text and "/var/" not in text
    assert "listen 8080;" in text and "server 127.0.0.1:8000;" in text  # the defaults


def test_the_service_settings_carry_over():
    env = {"VNSEARCH_PORT": "8123", "VNSEARCH_MAX_BODY_BYTES": "65536", "VNSEARCH_CORS_ORIGINS": "https://news.example"}
    text = run(**env).output
    assert "server 127.0.0.1:8123;" in text and "client_max_body_size 65536;" in text
    assert "'https://news.example' $http_origin;" in text
    assert "The body may be at most 65536 bytes." in text
    everywhere = ProxyConfig.from_settings(Settings(host="0.0.0.0", port=9))
    assert everywhere.upstream == "127.0.0.1:9"
    assert ProxyConfig.from_settings(Settings(host="::1", port=9)).upstream == "[::1]:9"


def test_error_bodies_are_the_service_json():
    config = ProxyConfig()
    for status in ERRORS:
        body = json.loads(error_body(status, config))
        assert set(body) == {"title", "description"} and body["title"]
    text = render(config)
    assert "error_page 429 /_vnsearch_error/429;" in text and "error_page 494 =400 /_vnsearch_error/400;" in text
    block = text.split("location = /_vnsearch_error/429 {", 1)[1].split("}", 1)[0]
    assert "internal;" in block and "add_header Retry-After 1 always;" in block
    assert "default_type application/json;" in block and 'return 429 \'{"title": "Too many requests"' in block


def test_static_files_are_served_from_the_package_with_cache_headers():
    text = render(ProxyConfig())
    static = Path(__file__).resolve().parent.parent / "search" / "web" / "static"
    assert f"alias {static}/widget.js;" in text and f"alias {static}/;" in text
    block = text.split("location = /widget.js {", 1)[1].split("\n    }", 1)[0]
    assert "add_header Cache-Control 'public, max-age=3600' always;" in block
    assert "add_header Cross-Origin-Resource-Policy 'cross-origin' always;" in block


@pytest.mark.parametrize(
    "args, message",
    [
        (["--listen", "0"], "--listen needs a port from 1 to 65535"),
        (["--listen", "localhost:99999"], "--listen needs a port"),
        (["--upstream", "8000"], "--upstream takes HOST:PORT"),
        (["--upstream", "bad_host:8000"], "is not a host name"),
        (["--upstream", "[nope]:80"], "is not an IPv6 address"),
        (["--server-name", "evil; include /etc/passwd"], "--server-name takes a host name"),
        (["--server-name", "a..b"], "--server-name takes a host name"),
    ],
)
def test_bad_options_are_refused_clearly(args, message):
    result = run(*args)
    assert result.exit_code == 2 and message in result.output


def test_bad_service_settings_are_refused_clearly():
    result = run(VNSEARCH_MAX_BODY_BYTES="lots")
    assert result.exit_code == 2 and "VNSEARCH_MAX_BODY_BYTES must be a whole number" in result.output
    with pytest.raises(ValueError, match="characters nginx would misread"):
        ProxyConfig(cors_origins=("https://x.example'; evil",))
    with pytest.raises(ValueError, match="search_rate must be a whole number above 0"):
        ProxyConfig(search_rate=0)
