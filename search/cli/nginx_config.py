"""`vnsearch nginx-config`: the reverse proxy's configuration, printed from the service's settings.

The generator is the web layer's (`search.web.nginx`: it copies the service's headers, error
bodies and static files); this is only the command around it.
"""

from __future__ import annotations

import click

from search.settings import Settings
from search.web.nginx import ProxyConfig, render


@click.command("nginx-config")
@click.option("--listen", default="8080", show_default=True, help="Port, or ADDRESS:PORT, that nginx listens on.")
@click.option(
    "--upstream",
    default=None,
    metavar="HOST:PORT",
    help="Where the service listens [VNSEARCH_HOST:VNSEARCH_PORT; default 127.0.0.1:8000].",
)
@click.option("--server-name", default="_", show_default=True, help="The site's host name (nginx server_name).")
@click.option(
    "--standalone",
    is_flag=True,
    help="A whole nginx.conf, runnable without root as `nginx -p DIR -c FILE`, instead of a "
    "server block to include in nginx's http {}.",
)
def nginx_config(listen: str, upstream: str | None, server_name: str, standalone: bool) -> None:
    """Print an nginx configuration that puts the service behind a buffering, rate-limiting proxy.

    It uses the service's own settings (body limit, CORS origins, address), so run it with the
    same VNSEARCH_* variables as the service.
    """
    try:  # a bad VNSEARCH_* variable or option, said in one line
        config = ProxyConfig.from_settings(
            Settings.from_env(), listen=listen, upstream=upstream, server_name=server_name
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(render(config, standalone=standalone), nl=False)
