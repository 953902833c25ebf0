"""The `vnsearch` command, the top layer beside the web app: it mirrors the library (build the
index, search it, serve it) and reads the same settings as the service.
"""

from search.cli.commands import main

__all__ = ["main"]
