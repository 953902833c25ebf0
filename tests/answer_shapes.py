"""A WSGI app answering in every shape gunicorn writes, its searches taking turns in one slot
that counts its comers and goers: served by real gunicorn in tests/test_one_write.py."""

import os
import tempfile
from collections.abc import Callable, Iterable
from typing import Any

import falcon

from search.web.admission import Admission, AdmissionControl

BIG = 8 * 1024 * 1024  # more than a socket's buffers hold: the write has to wait for the reader
FILE_BODY = bytes(range(256)) * 64


class Counted(Admission):
    """An admission that counts the slots taken and given back."""

    def __init__(self) -> None:
        super().__init__(1)
        self.entered = self.left = 0

    def enter(self, timeout: float) -> bool:
        admitted = super().enter(timeout)
        self.entered += admitted
        return admitted

    def leave(self) -> None:
        self.left += 1
        super().leave()


class Shapes:
    """One route per shape of answer."""

    def __init__(self, path: str) -> None:
        self.path = path

    def on_get(self, req: falcon.Request, resp: falcon.Response, shape: str) -> None:
        if shape == "json":
            resp.media = {"q": req.get_param("q") or "", "hits": [{"title": "Bảo hiểm"}] * 3}
        elif shape == "html":
            resp.content_type = falcon.MEDIA_HTML
            resp.text = "<!doctype html><p>Tìm kiếm</p>"
        elif shape == "missing":
            raise falcon.HTTPNotFound(title="No such page")
        elif shape == "stream":
            resp.stream = iter([b"first,", b"", b"second,", b"third"])
        elif shape == "file":
            resp.stream = open(self.path, "rb")  # the server closes it
        elif shape == "big":
            resp.data = b"x" * (BIG - 1) + b"\n"
        else:
            raise falcon.HTTPBadRequest(title="Unknown shape")

    on_head = on_get


class Slots:
    def __init__(self, admission: Counted) -> None:
        self.admission = admission

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"entered": self.admission.entered, "left": self.admission.left}


def make_app(admission: Counted) -> falcon.App:
    handle, path = tempfile.mkstemp(prefix="answer-shapes-")
    with os.fdopen(handle, "wb") as out:
        out.write(FILE_BODY)
    shapes = Shapes(path)
    app = falcon.App(middleware=[AdmissionControl(admission, (shapes,), 5.0)])
    app.add_route("/shape/{shape}", shapes)
    app.add_route("/slots", Slots(admission))
    return app


admission = Counted()
answers = make_app(admission)


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """The Falcon app; with `boom` in the query, the answer is made (its slot taken) and then the
    app raises."""
    body = answers(environ, start_response)
    if "boom" in environ.get("QUERY_STRING", ""):
        raise RuntimeError("the app fails after its answer was made")
    return body
