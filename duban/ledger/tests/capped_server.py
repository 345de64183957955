"""A Duban web server under a memory cap, started by test_upload_memory.py in a child process.

    python -m duban.ledger.tests.capped_server HEADROOM_MB

It migrates its own database (DATABASE_URL, or a SQLite file under DUBAN_DATA_DIR), builds the
test world with one problem in progress, then caps its address space (RLIMIT_AS) at what it
uses by then plus HEADROOM_MB and serves Django's WSGI application on a free loopback port with
the server `runserver` uses, one request at a time. It prints one JSON line when ready:
{"port", "problem", "username", "password", "cap_mb"}.
"""

import json
import os
import resource
import sys


def _vm_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def main() -> None:
    headroom_mb = int(sys.argv[1])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "duban.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer
    from django.core.wsgi import get_wsgi_application
    from django.db import connections

    from duban.ledger.models import State
    from duban.ledger.tests.flow import problem_in
    from duban.testing import PASSWORD, build_world

    # The test world's users: hashing their passwords properly costs seconds and proves nothing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("migrate", verbosity=0)
    world = build_world()
    problem = problem_in(world, State.IN_PROGRESS)
    application = get_wsgi_application()
    connections.close_all()

    server = WSGIServer(("127.0.0.1", 0), WSGIRequestHandler, ipv6=False)
    server.set_app(application)
    cap = (_vm_kb("VmSize") + headroom_mb * 1024) * 1024
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    print(
        json.dumps(
            {
                "port": server.server_address[1],
                "problem": problem.pk,
                "username": world.liaison.username,
                "password": PASSWORD,
                "cap_mb": cap // 1048576,
            }
        ),
        flush=True,
    )
    server.serve_forever()


if __name__ == "__main__":
    main()
