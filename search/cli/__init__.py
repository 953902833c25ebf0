"""The `vnsearch` command, the top layer: it mirrors the library (build the index, search it,
serve it), reads the same settings as the service, and prints the web layer's proxy
configuration (`nginx-config`).
"""

from search.cli.commands import main
from search.cli.nginx_config import nginx_config

main.add_command(nginx_config)

__all__ = ["main"]
