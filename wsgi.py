"""gunicorn's entry point: `gunicorn wsgi:application`, configured by `VNSEARCH_*` variables."""

from search.web.app import create_app

application = create_app()
