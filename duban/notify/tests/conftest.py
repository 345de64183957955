"""Real receivers for the channels: an SMTP server (aiosmtpd) and an HTTPS server, both local.

Robot webhooks must be https on port 443, so the robot receiver is a real TLS server on port
443 of a loopback address of its own (127.x.y.z, so parallel test runs do not collide), with a
throwaway certificate that the sending side trusts through SSL_CERT_FILE.
"""

import json
import random
import socket
import ssl
import subprocess
import threading
import urllib.parse
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    """aiosmtpd handler: keeps every message it receives, parsed."""

    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append((envelope.rcpt_tos, message))
        return "250 OK"


@pytest.fixture
def smtp_server():
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    mailbox.port = controller.port
    try:
        yield mailbox
    finally:
        controller.stop()


class Receiver:
    """A robot webhook stand-in: records each POST and answers with `status` and `answer`."""

    def __init__(self):
        self.requests = []
        self.status = 200
        self.answer = {"errcode": 0, "errmsg": "ok"}
        self.lock = threading.Lock()

    def url(self, path="/robot/send?access_token=tok123456789"):
        return f"https://{self.host}{path}"


@pytest.fixture(scope="session")
def robot_tls(tmp_path_factory):
    """A loopback address and a self-signed certificate for it: (address, cert file, key file)."""
    folder = tmp_path_factory.mktemp("robot-tls")
    address = f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(1, 254)}"
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
        + ["-nodes", "-days", "2", "-subj", f"/CN={address}"]
        + ["-addext", f"subjectAltName=IP:{address}", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return address, cert, key


@pytest.fixture
def receiver(robot_tls, monkeypatch):
    address, cert, key = robot_tls
    # Python's default https context reads the trusted certificates from SSL_CERT_FILE.
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length)
            parts = urllib.parse.urlsplit(self.path)
            with state.lock:
                state.requests.append(
                    {
                        "path": parts.path,
                        "raw_query": parts.query,
                        "query": dict(urllib.parse.parse_qsl(parts.query)),
                        "headers": dict(self.headers),
                        "json": json.loads(body),
                    }
                )
            payload = json.dumps(state.answer).encode()
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass  # keep test output quiet

    server = ThreadingHTTPServer((address, 443), Handler)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    server.socket = tls.wrap_socket(server.socket, server_side=True)
    state.host = address
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def channels(settings, smtp_server, receiver):
    """Duban's settings pointed at the local receivers; tasks run inline at commit."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_TIMEOUT = 5
    settings.DEFAULT_FROM_EMAIL = "duban@example.gov.cn"
    settings.DUBAN_BASE_URL = "https://duban.example.gov.cn"
    settings.DUBAN_NOTIFY_ROBOT_HOSTS = [receiver.host]
    settings.DUBAN_NOTIFY_HTTP_TIMEOUT = 3
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    return {"smtp": smtp_server, "http": receiver}
