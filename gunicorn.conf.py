# Read by a plain `gunicorn wsgi:application` run from this directory.
from search.web.gunicorn_conf import *  # noqa: F401,F403
