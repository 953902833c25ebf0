"""Web: the Falcon app (`create_app`), its JSON resources and HTML pages, the middleware and
headers every response passes, writes through the API, static files, and what running it in
production takes: gunicorn's settings and hooks, `/metrics`, access lines, forwarded client
addresses and the nginx configuration made for it. May import everything below; only the CLI
above it imports it (`serve` runs it, `nginx-config` prints its proxy configuration).
"""
