"""gunicorn settings for vnsearch, loaded by `vnsearch serve` and by `gunicorn.conf.py`.

The control socket is off unless `VNSEARCH_CONTROL_SOCKET` names a path: gunicorn 25+ puts it
at one fixed path per user, so two instances on one machine would otherwise fight over it.
Loading this module also makes the errors gunicorn answers itself JSON (`search.web.gunicorn_errors`).

Threaded workers, because a sync worker serves one connection at a time: a few clients that
send their requests slowly held every worker, and the arbiter then killed the workers with the
requests they were serving. A gthread worker gives each connection a thread and keeps beating
its heartbeat from its main loop, so a slow client holds one thread (the worker class is
gthread's, serving a connection's next request on the thread that answered its last:
`search.web.gunicorn_worker`). The receive timeout (`search.web.gunicorn_hooks`) frees a thread
whose client went silent. What is left to a
buffering proxy: see "Running in production" in the README.
"""

from search.settings import Settings
from search.web import gunicorn_errors
from search.web.gunicorn_hooks import child_exit, on_exit, on_starting, post_worker_init, when_ready  # noqa: F401

gunicorn_errors.install()  # errors gunicorn answers itself are JSON too

_settings = Settings.from_env()

bind = f"{_settings.host}:{_settings.port}"
workers = _settings.workers
worker_class = "search.web.gunicorn_worker.KeepServingWorker"  # gthread, see that module
threads = _settings.threads
preload_app = False  # each worker opens the index itself, after the fork
timeout = 30
graceful_timeout = 10
keepalive = 5
# X-Forwarded-Proto is believed from these only; the app applies the same list to X-Forwarded-For.
forwarded_allow_ips = ",".join(_settings.forwarded_allow_ips)
accesslog = None  # gunicorn's line carries the query string; search.web.accesslog writes one without it

if _settings.control_socket:
    control_socket = _settings.control_socket
else:
    control_socket_disable = True
