"""HTTP benchmark: the ledger's pages and API over a real gunicorn server, p50/p95 per case.

    DATABASE_URL=postgres://…/bench .venv/bin/python bench/http_bench.py --problems 100000

Builds (or tops up) the synthetic world of `duban seed_scale`, starts gunicorn as deployed
(`duban/gunicorn_conf.py`, `--workers` workers, settings at their defaults, so database
connections are kept between requests), and times over HTTP, one request at a time:

- the ledger list's first page, and a deep filtered and sorted page
  (`state=in_progress&unit=<a county government>&sort=deadline&page=100`),
- a problem's detail page,
- the counts by pace behind the list (`?part=summary`, what the page loads after the table),
- the API list, its deep page by number (`…&page=100`) and by cursor (the `next` link
  followed from the first page to the 100th, then timed),
- API creates (`POST /api/v1/problems`), from `--clients` threads at once: p50/p95 and
  creates a second.

The pages are fetched as the whole-city office user `bench_office` (every synthetic
problem in scope), by session cookie; the API with a bearer token of the same user. It
writes (the creates, a session, a token): use a database made for benchmarks.
"""

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "duban.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from duban.accounts.models import ApiToken  # noqa: E402
from duban.demo import scale  # noqa: E402
from duban.demo.timing import percentile, timed  # noqa: E402
from duban.ledger.models import Problem, State  # noqa: E402
from duban.org.models import Unit  # noqa: E402


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """gunicorn with duban/gunicorn_conf.py on this process's database."""

    def __init__(self, workers: int, log: Path):
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
        env |= {"DUBAN_BIND": f"127.0.0.1:{self.port}", "DUBAN_WEB_WORKERS": str(workers)}
        self.log = open(log, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "-c", "python:duban.gunicorn_conf"],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=ROOT,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        raise SystemExit(f"gunicorn did not start; see {log}")

    def stop(self):
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=60)
        self.log.close()


def request(port, method, path, headers, body=None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=50, help="Timed requests per case.")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers.")
    parser.add_argument("--creates", type=int, default=200, help="API creates to time.")
    parser.add_argument("--clients", type=int, default=4, help="Threads sending the creates.")
    parser.add_argument("--page", type=int, default=100, help="The deep page's number.")
    args = parser.parse_args()

    have = Problem.objects.filter(inspection__code=scale.DEFAULT_INSPECTION).count()
    if have < args.problems:
        print(f"{have} problems; adding {args.problems - have} with seed_scale …", flush=True)
        call_command("seed_scale", problems=args.problems - have, seed=1)
    world = scale.ensure_world()
    office = world.office
    county_gov = (
        Unit.objects.filter(kind="government", parent=None, region__level="county")
        .order_by("region__code")
        .first()
    )
    sample = Problem.objects.filter(inspection=world.inspection, state=State.IN_PROGRESS)
    middle = sample.order_by("id").values_list("id", flat=True)[sample.count() // 2]
    template = Problem.objects.filter(pk=middle).select_related("region").get()

    browser = Client()
    browser.force_login(office)
    cookie = f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}"
    _token, key = ApiToken.issue(office, "http-bench")
    page_headers = {"Cookie": cookie}
    api_headers = {"Authorization": f"Bearer {key}"}
    deep = {"state": "in_progress", "unit": county_gov.pk, "sort": "deadline"}
    connection.close()  # the server's workers get theirs; this process is only a client now

    log = Path(os.environ.get("DUBAN_DATA_DIR", ROOT / "var")) / "http_bench_gunicorn.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    server = Server(args.workers, log)
    try:
        port = server.port

        def get(path, headers, expect=200):
            def fetch():
                status, body = request(port, "GET", path, headers)
                if status != expect:
                    raise SystemExit(f"GET {path} answered {status}: {body[:300]!r}")
                return body

            return fetch

        # The cursor of the deep page: follow `next` from the first page (not timed).
        path = "/api/v1/problems?" + urlencode(deep)
        for _n in range(args.page - 1):
            body = json.loads(get(path, api_headers)())
            split = urlsplit(body["next"])
            path = f"{split.path}?{split.query}"
        cursor_path = path

        deep_page = urlencode(deep | {"page": args.page})
        cases = [
            ("list, first page", get("/ledger/", page_headers)),
            (f"list, deep page ({deep_page})", get(f"/ledger/?{deep_page}", page_headers)),
            ("detail page", get(f"/ledger/problems/{middle}/", page_headers)),
            ("pace counts (?part=summary)", get("/ledger/?part=summary", page_headers)),
            ("API list, first page", get("/api/v1/problems", api_headers)),
            (f"API deep page, page={args.page}", get(f"/api/v1/problems?{deep_page}", api_headers)),
            (f"API deep page, cursor (page {args.page})", get(cursor_path, api_headers)),
        ]
        load_before = os.getloadavg()
        rows = []
        for label, fetch in cases:
            samples = timed(fetch, args.repeat)
            rows.append((label, statistics.median(samples), percentile(samples, 0.95)))

        payload = {
            "inspection": world.inspection.code,
            "feedback_text": "督察发现，基准测试问题，整改工作推进不力。",
            "title": "HTTP 基准新建问题",
            "category": "water",
            "region": template.region.code,
            "lead_unit": template.lead_unit_id,
            "deadline": "2030-06-30",
        }
        create_headers = api_headers | {"Content-Type": "application/json"}
        latencies: list[float] = []
        failures: list[str] = []
        lock = threading.Lock()
        per_client = max(1, args.creates // args.clients)

        def creator(n):
            for i in range(per_client):
                body = json.dumps(payload | {"ledger_number": f"HTTP-{n}-{i}"}).encode()
                started = time.perf_counter()
                status, answer = request(port, "POST", "/api/v1/problems", create_headers, body)
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    latencies.append(elapsed)
                    if status != 201:
                        failures.append(f"{status} {answer[:200]!r}")

        for _i in range(3):  # warm-up
            request(port, "POST", "/api/v1/problems", create_headers, json.dumps(payload).encode())
        threads = [threading.Thread(target=creator, args=(n,)) for n in range(args.clients)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
        load_after = os.getloadavg()
    finally:
        server.stop()

    print(
        f"Database: {connection.vendor}; {Problem.objects.count()} problems; gunicorn "
        f"{args.workers} workers; {args.repeat} timed requests per case; "
        f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after "
        f"({os.cpu_count()} CPUs)."
    )
    width = max(len(label) for label, *_ in rows) + 2
    print(f"{'case':<{width}} {'p50 ms':>8} {'p95 ms':>8}")
    for label, p50, p95 in rows:
        print(f"{label:<{width}} {p50:>8.1f} {p95:>8.1f}")
    print(
        f"{'API create (' + str(args.clients) + ' clients)':<{width}} "
        f"{statistics.median(latencies):>8.1f} {percentile(latencies, 0.95):>8.1f}   "
        f"{len(latencies) / wall:.1f} creates/s ({len(latencies)} in {wall:.1f} s)"
    )
    if failures:
        print(f"{len(failures)} creates failed, e.g. {failures[0]}")
        raise SystemExit(1)


if __name__ == "__main__":
    main()
