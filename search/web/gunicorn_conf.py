"""gunicorn settings for vnsearch, loaded by `vnsearch serve` and by `gunicorn.conf.py`.

The control socket is off unless `VNSEARCH_CONTROL_SOCKET` names a path: gunicorn 25+ puts it
at one fixed path per user, so two instances on one machine would otherwise fight over it.
Loading this module also makes the errors gunicorn answers itself JSON (`search.web.gunicorn_errors`).
"""

from search.settings import Settings
from search.web import gunicorn_errors

gunicorn_errors.install()  # errors gunicorn answers itself are JSON too

_settings = Settings.from_env()

bind = f"{_settings.host}:{_settings.port}"
workers = _settings.workers
preload_app = False  # each worker opens the index itself, after the fork
timeout = 30
graceful_timeout = 10
accesslog = "-"

if _settings.control_socket:
    control_socket = _settings.control_socket
else:
    control_socket_disable = True
