"""Web: the Falcon app (`create_app`), its JSON resources and HTML pages, the middleware and
headers every response passes, writes through the API, static files and gunicorn's settings.
The top layer, beside the CLI: may import everything below; nothing imports it.
"""
