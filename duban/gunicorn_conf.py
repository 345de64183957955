"""gunicorn's settings for Duban's web process: `make serve` and deploy/systemd/duban-web.service.

Run as `gunicorn -c python:duban.gunicorn_conf`. gunicorn listens on the loopback address
behind a reverse proxy (deploy/nginx/duban.conf) that terminates TLS; static files are served
by WhiteNoise inside the application. The worker and the scheduler run beside it as
`duban db_worker` and `duban scheduler`.
"""

import os

from duban.settings import env_int, env_str

wsgi_app = "duban.wsgi:application"
# Loopback by default: Django trusts X-Forwarded-Proto, so only the proxy may reach gunicorn.
bind = env_str("DUBAN_BIND", "127.0.0.1:8000")
workers = env_int("DUBAN_WEB_WORKERS", min(2 * (os.cpu_count() or 1) + 1, 8))
# An upload of the largest evidence files over a slow office line must not be cut off.
timeout = env_int("DUBAN_WEB_TIMEOUT", 120)
graceful_timeout = 30
# A worker is replaced after this many requests, so memory a large upload took is given back.
max_requests = 1000
max_requests_jitter = 100
accesslog = "-"
errorlog = "-"
loglevel = env_str("DUBAN_LOG_LEVEL", "WARNING").lower()
