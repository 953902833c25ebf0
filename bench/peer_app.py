"""A Falcon app serving one peer engine, so the peers are measured over HTTP with the same
server (gunicorn, 2 workers) and load as vnsearch: `BENCH_PEER=fts5 BENCH_PEER_PATH=...
gunicorn bench.peer_app:application`."""

from __future__ import annotations

import os
from pathlib import Path

import falcon

from bench.peers import PEERS


class SearchResource:
    def __init__(self) -> None:
        self._engine = None

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        if self._engine is None:  # opened after the fork, like vnsearch's workers
            self._engine = PEERS[os.environ["BENCH_PEER"]](Path(os.environ["BENCH_PEER_PATH"]))
        resp.media = self._engine.search(
            req.get_param("q", required=True), req.get_param("source") or "", req.get_param("sort") or ""
        )


application = falcon.App()
application.add_route("/search", SearchResource())
