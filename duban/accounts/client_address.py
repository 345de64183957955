"""The address a request comes from, for the login lockout and the audit log.

X-Forwarded-For is written by whoever sends the request, so it is believed only when
DUBAN_TRUSTED_PROXIES says how many proxies of ours stand in front of Duban: each
appends the address it saw, so the client is that many entries from the right. Anything
before that was written by the client and is ignored.
"""

import ipaddress

from django.conf import settings


def _address(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_address(request) -> str | None:
    remote = _address(request.META.get("REMOTE_ADDR", ""))
    proxies = settings.DUBAN_TRUSTED_PROXIES
    if proxies <= 0:
        return remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    if len(forwarded) < proxies:
        # Fewer hops than proxies: the request did not come through them all.
        return remote
    return _address(forwarded[-proxies]) or remote
