#!/usr/bin/env python
"""The SMS endpoint under concurrent load: Kannel's ``GET /channels/sms/kannel`` served by gunicorn, driven over
loopback from a second process, on a throw-away database.

(a) SMS path: a realistic mix of messages (one-message «ПС <договор> <показания>», multi-zone dialogues over
    several messages, a meter chosen by its number, typos, a decimal value, a value lower than the last, a wrong
    contract, help, cancel mid-dialogue, Kannel's retries of the same message id; a third of the texts in UCS-2
    as Kannel hands them over without ``mo-recode``), each conversation from its own sender, through a bounded
    number of keep-alive connections for a fixed time after a warm-up: messages/s sustained, p50/p95/p99
    latency, errors; afterwards the stored messages are checked (none failed, reasons as expected);
(b) reference, same run, same gunicorn: the same endpoint with a wrong secret (403: no database, no dialogue),
    so the ratio is the cost of the SMS path itself;
(c) the dialogue engine alone (``bench/dialogue.py``, no database), with gunicorn stopped.

Usage: ``python bench/sms.py [--sqlite] [--duration 20] [--warmup 5] [--concurrency 8] [--workers 2]
[--threads 4] [--worker-class gthread] [--contracts 5000] [--engine-n 50000]``.
PostgreSQL (default): the database ``sbyt_bench_sms`` on 127.0.0.1:5432 (user postgres), created and dropped by
the script. ``--sqlite``: a temporary file. gunicorn is ``.venv/bin/gunicorn config.wsgi`` on 127.0.0.1 and a
free port; it is stopped and the database dropped on exit, Ctrl+C or an error. All traffic goes to 127.0.0.1.
Targets (issue 3): SMS >= 300 messages/s sustained with p99 < 100 ms on PostgreSQL; engine >= 5 000 messages/s.
"""

import argparse
import asyncio
import contextlib
import datetime as dt
import io
import multiprocessing
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import drop_database, households, prepare_database, setup_django  # noqa: E402

PG_NAME = "sbyt_bench_sms"
RATE_TARGET = 300  # messages/s
P99_TARGET_MS = 100.0
ENGINE_TARGET = 5_000  # messages/s
SECRET = "bench-sms-secret"  # a throw-away secret of the throw-away server
SEED = 20261123
PATH = "/channels/sms/kannel"
CONFIRMED = "Показания приняты. Спасибо."


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sqlite", action="store_true", help="a temporary SQLite file instead of PostgreSQL")
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds of SMS load (default 20)")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of load before measuring (default 5)")
    parser.add_argument("--reference-duration", type=float, default=8.0, help="measured seconds, reference (8)")
    parser.add_argument("--concurrency", type=int, default=8, help="keep-alive connections (default 8)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2, one per core)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker (default 4)")
    parser.add_argument("--worker-class", default="gthread", help="gunicorn worker class (default gthread)")
    parser.add_argument("--contracts", type=int, default=5_000, help="contracts generated (default 5 000)")
    parser.add_argument("--engine-n", type=int, default=50_000, help="messages for the engine alone (50 000)")
    return parser.parse_args()


# -- the throw-away database ---------------------------------------------------------------------------------


# -- the data set --------------------------------------------------------------------------------------------


def generate(n_contracts: int) -> list[tuple[str, list[tuple[str, int, tuple[int, ...]]]]]:
    """Two branches with an every-day readings window (the figure must not depend on the date); one account,
    premises and contract each; 90 % of the contracts with one meter, 10 % with two; zones 60 % one, 30 % two,
    10 % three; an accepted reading of last month for each meter.
    Returns [(contract number, [(meter serial, zones, previous values)])]."""
    from django.utils import timezone

    from sbyt.core.periods import add_months, month_start

    last_month = add_months(month_start(timezone.localdate()), -1)
    received = dt.datetime.combine(last_month.replace(day=20), dt.time(12), tzinfo=dt.UTC)
    contracts, history = households(
        random.Random(SEED),
        n_contracts=n_contracts,
        meters_of=lambda i: 2 if i % 10 == 3 else 1,
        window=(1, 31),
        period=last_month,
        received_at=lambda _branch: received,
    )
    number_of = {c.pk: c.number for c in contracts}
    dataset: dict[str, list] = {}
    for meter, previous in history:
        dataset.setdefault(number_of[meter.contract_id], []).append((meter.serial, meter.zones, previous))
    return list(dataset.items())


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


# -- the traffic (runs in the second process: standard library only) -----------------------------------------


def conversations(dataset, rnd: random.Random):
    """Endless conversations in the proportions people send them: lists of texts, one sender each."""
    single = [c for c in dataset if len(c[1]) == 1]
    multi_zone = [c for c in single if c[1][0][1] > 1]
    two_meters = [c for c in dataset if len(c[1]) > 1]
    pools = {"any": single, "zones": multi_zone, "meters": two_meters}
    cursor = Counter()

    def pick(pool):  # each contract in turn, so most get one submission in the run
        items = pools[pool]
        cursor[pool] += 1
        return items[cursor[pool] % len(items)]

    def values(previous, sep=" "):
        return sep.join(str(v + rnd.randint(20, 400)) for v in previous)

    while True:
        prefix = rnd.choice(["ПС", "ПС", "ПС", "пс", "Пс", "PS", "ПC", "пс."])
        roll = rnd.random()
        if roll < 0.45:  # all at once
            number, [(_serial, _zones, previous)] = pick("any")
            conv = [f"{prefix} {number} {values(previous, rnd.choice([' ', ' ', ',', '; ']))}"]
        elif roll < 0.65:  # a multi-zone dialogue: contract first, then one value per message
            number, [(_serial, _zones, previous)] = pick("zones")
            conv = [f"{prefix} {number}", *(values((v,)) for v in previous)]
        elif roll < 0.72:  # two meters: the meter is chosen by the end of its number
            number, meters = pick("meters")
            serial, _zones, previous = meters[rnd.randrange(len(meters))]
            conv = [f"{prefix} {number} {values(previous)}", serial[-4:]]
        elif roll < 0.76:  # no space, extra words
            number, [(_serial, _zones, previous)] = pick("any")
            conv = [f"{prefix}{number} показания {values(previous)} кВт"]
        elif roll < 0.80:  # a decimal part
            number, [(_serial, _zones, previous)] = pick("any")
            conv = [f"{prefix} {number} {previous[0] + 50},5"]
        elif roll < 0.84:  # lower than the last accepted
            number, [(_serial, _zones, _previous)] = pick("any")
            conv = [f"{prefix} {number} 10"]
        elif roll < 0.88:  # a wrong contract
            conv = [f"{prefix} {rnd.randint(900_000_000, 999_999_999)} {rnd.randint(1000, 9999)}"]
        elif roll < 0.92:  # cancel mid-dialogue
            number, _meters = pick("zones")
            conv = [f"{prefix} {number}", "отмена"]
        elif roll < 0.96:  # help and noise
            conv = [rnd.choice(["Помощь", "?", "Здравствуйте, как передать показания?", "спасибо", ""])]
        else:  # something else while a value is awaited, then the values
            number, [(_serial, _zones, previous)] = pick("zones")
            conv = [f"{prefix} {number}", "ок", values(previous)]
        yield conv


def kannel_path(secret: str, message_id: str, sender: str, text: str, ucs2: bool) -> bytes:
    """The query Kannel's ``get-url`` builds: ``%b`` url-encoded, UTF-16BE when not recoded (``mo-recode`` off)."""
    raw = text.encode("utf-16-be" if ucs2 else "utf-8")
    query = (
        f"secret={secret}&id={message_id}&from={sender}&to=7377&text={urllib.parse.quote_from_bytes(raw)}"
        f"&coding={2 if ucs2 else 0}&charset={'UTF-16BE' if ucs2 else 'UTF-8'}"
    )
    return f"{PATH}?{query}".encode("ascii")


_LENGTH = re.compile(rb"(?im)^content-length:\s*(\d+)")
_CLOSE = re.compile(rb"(?im)^connection:\s*close")


class Connection:
    """One keep-alive HTTP/1.1 connection to 127.0.0.1 (re-opened when the server closes it)."""

    def __init__(self, port: int):
        self.port, self.reader, self.writer = port, None, None

    async def get(self, path: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writer.write(b"GET " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: Kannel/1.4.5\r\n\r\n")
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = _LENGTH.search(head)
        body = await self.reader.readexactly(int(length.group(1))) if length else b""
        if _CLOSE.search(head):
            await self.close()
        return int(head[9:12]), body

    async def close(self):
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()
        self.reader = self.writer = None


async def _drive(port, kind, dataset, concurrency, warmup, duration, seed, pipe):
    import resource

    rnd = random.Random(seed)
    source = conversations(dataset, rnd)
    start = time.perf_counter()
    measure_from, stop_at = start + warmup, start + warmup + duration
    latencies, statuses, errors = [], Counter(), Counter()
    counters = Counter()

    async def one(conn: Connection, path: bytes, expect: int):
        t0 = time.perf_counter()
        try:
            status, body = await conn.get(path)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            await conn.close()
            status, body = 0, type(exc).__name__.encode()
        t1 = time.perf_counter()
        if measure_from <= t0 and t1 <= stop_at:
            latencies.append(t1 - t0)
            statuses[status] += 1
            if status != expect or (expect == 200 and not body):
                errors[f"{status} {body[:60].decode('utf-8', 'replace')}"] += 1
            elif body.decode("utf-8") == CONFIRMED:
                counters["confirmed"] += 1
        return status

    async def worker(index: int):
        conn = Connection(port)
        n = 0
        try:
            while time.perf_counter() < stop_at:
                if kind == "reference":
                    await one(conn, kannel_path("wrong-secret", "ref", "79120000000", "ПС 200001 12345", False), 403)
                    continue
                counters["conversations"] += 1
                sender = f"79{seed % 10:01d}{index:03d}{counters['conversations']:06d}"
                for text in next(source):
                    if time.perf_counter() >= stop_at:
                        break
                    n += 1
                    message_id = f"bench-{seed}-{index}-{n}"
                    path = kannel_path(SECRET, message_id, sender, text, ucs2=rnd.random() < 0.33)
                    await one(conn, path, 200)
                    if rnd.random() < 0.02:  # Kannel retries the same %I (http-request-retry)
                        counters["retries"] += 1
                        await one(conn, path, 200)
        finally:
            await conn.close()

    async def clock():  # tells the parent when the measured window opens and closes (it samples server CPU)
        await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
        pipe.send("start")
        usage = resource.getrusage(resource.RUSAGE_SELF)
        cpu0 = usage.ru_utime + usage.ru_stime
        await asyncio.sleep(max(0.0, stop_at - time.perf_counter()))
        pipe.send("stop")
        usage = resource.getrusage(resource.RUSAGE_SELF)
        counters["cpu"] = usage.ru_utime + usage.ru_stime - cpu0

    await asyncio.gather(clock(), *(worker(i) for i in range(concurrency)))
    return latencies, statuses, errors, counters


def load_process(pipe, port, kind, dataset, concurrency, warmup, duration, seed):
    """The second process: drives the server and sends back the measured requests."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops it; Ctrl+C is the parent's
    latencies, statuses, errors, counters = asyncio.run(
        _drive(port, kind, dataset, concurrency, warmup, duration, seed, pipe)
    )
    cpu = counters.pop("cpu", 0.0)
    pipe.send(
        {
            "latencies": latencies,
            "statuses": dict(statuses),
            "errors": dict(errors),
            "counters": dict(counters),
            "cpu": cpu,
        }
    )
    pipe.close()


# -- gunicorn ------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(args, url: str, port: int, log) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SBYT_SMS_INBOUND_SECRET": SECRET,
        "SBYT_DEBUG": "false",
        "SBYT_SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
        "SBYT_SSL_REDIRECT": "false",
        "SBYT_ALLOWED_HOSTS": "127.0.0.1",
        "SBYT_DB_CONN_MAX_AGE": "60",
        "SBYT_LOG_LEVEL": "WARNING",
        "SBYT_SMS_BACKEND": "locmem",
    }
    command = [
        str(ROOT / ".venv" / "bin" / "gunicorn"),
        "config.wsgi",
        f"--bind=127.0.0.1:{port}",
        f"--workers={args.workers}",
        f"--worker-class={args.worker_class}",
        f"--threads={args.threads}",
        "--keep-alive=5",
        "--backlog=256",
        "--log-level=warning",  # no access log (gunicorn's default)
    ]
    # the server's output (a «Forbidden» warning per reference request) goes to a file, checked afterwards
    proc = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True, stdout=log, stderr=log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(f"GET {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
                if s.recv(64).startswith(b"HTTP/1.1 403"):
                    return proc
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer within 30 s")


def stop_gunicorn(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)  # the master stops its workers
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its children (gunicorn's master and workers), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(entry) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def machine_cpu() -> float:
    """Busy CPU seconds of the whole machine (all cores), from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def run_load(port, kind, dataset, args, duration, seed, server_pid):
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    process = ctx.Process(
        target=load_process,
        args=(child, port, kind, dataset, args.concurrency, args.warmup, duration, seed),
        daemon=True,
    )
    process.start()
    child.close()

    def receive(timeout):
        if not parent.poll(timeout):
            raise RuntimeError("the load process did not report")
        return parent.recv()

    try:
        receive(args.warmup + 60)  # "start"
        server0, machine0, wall0 = tree_cpu(server_pid), machine_cpu(), time.perf_counter()
        receive(duration + 60)  # "stop"
        server1, machine1, wall = tree_cpu(server_pid), machine_cpu(), time.perf_counter() - wall0
        result = receive(60)
        result.update(server_cpu=server1 - server0, machine_cpu=machine1 - machine0, wall=wall)
    finally:
        process.join(timeout=10)
        if process.is_alive():
            process.terminate()
            process.join(timeout=5)
    lat = sorted(result["latencies"])
    ok = sum(v for k, v in result["statuses"].items() if k in (200, 403)) - sum(result["errors"].values())
    result.update(
        n=len(lat),
        ok=ok,
        rate=ok / duration,
        p50=1000 * statistics.median(lat) if lat else float("nan"),
        p95=1000 * lat[int(len(lat) * 0.95)] if lat else float("nan"),
        p99=1000 * lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else float("nan"),
        max=1000 * lat[-1] if lat else float("nan"),
    )
    return result


_EXPECTED_LOG = ("Forbidden: /channels/sms/kannel", "No directory at:", "mw_instance = middleware")


def unexpected_log(path) -> list[str]:
    """Lines of the server's output other than the expected warnings (a traceback, an error)."""
    lines = Path(path).read_text(errors="replace").splitlines()
    return [line for line in lines if line.strip() and not any(e in line for e in _EXPECTED_LOG)]


# -- after the load ------------------------------------------------------------------------------------------


def stored_summary() -> dict:
    from django.db.models import Count

    from sbyt.messaging.models import InboundMessage
    from sbyt.metering.models import Reading

    statuses = dict(InboundMessage.objects.values_list("status").annotate(n=Count("id")).order_by())
    reasons = Counter(
        dict(InboundMessage.objects.exclude(reason="").values_list("reason").annotate(n=Count("id")).order_by())
    )
    return {
        "messages": sum(statuses.values()),
        "statuses": statuses,
        "reasons": reasons,
        "readings": Reading.objects.filter(channel="sms").count(),
        "failed": [
            (m.external_id, m.text, m.error[:200])
            for m in InboundMessage.objects.filter(status=InboundMessage.Status.FAILED)[:5]
        ],
    }


def engine_alone(n: int) -> tuple[float, str]:
    import importlib.util

    from django.utils import translation

    spec = importlib.util.spec_from_file_location("bench_dialogue", ROOT / "bench" / "dialogue.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    translation.activate("ru")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rate = module.run(n)
    return rate, out.getvalue()


# -- main ----------------------------------------------------------------------------------------------------


def _terminate(signum, frame):
    raise KeyboardInterrupt


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, _terminate)  # a kill from outside cleans up like Ctrl+C
    url, tmp = prepare_database(PG_NAME, postgres=not args.sqlite)
    setup_django(url)
    from django.core.management import call_command
    from django.db import connection, connections

    server = None
    log_fd, log_path = tempfile.mkstemp(prefix="sbyt-bench-sms-", suffix=".log")
    try:
        call_command("migrate", verbosity=0)
        start = time.perf_counter()
        dataset = generate(args.contracts)
        analyze()
        generate_s = time.perf_counter() - start
        meters = sum(len(m) for _n, m in dataset)
        vendor = connection.vendor
        version = (
            ".".join(map(str, connection.Database.sqlite_version_info))
            if vendor == "sqlite"
            else str(connection.pg_version // 10000)
        )
        connections.close_all()

        port = free_port()
        server = start_gunicorn(args, url, port, log_fd)
        reference = run_load(port, "reference", dataset, args, args.reference_duration, SEED, server.pid)
        sms = run_load(port, "sms", dataset, args, args.duration, SEED + 1, server.pid)
        stop_gunicorn(server)
        server = None
        server_log = unexpected_log(log_path)
        stored = stored_summary()
        connections.close_all()
        engine_rate, engine_out = engine_alone(args.engine_n)
    finally:
        stop_gunicorn(server)
        os.close(log_fd)
        Path(log_path).unlink(missing_ok=True)
        drop_database(PG_NAME, postgres=not args.sqlite, tmp=tmp)

    ok_rate = sms["rate"] >= RATE_TARGET
    ok_p99 = sms["p99"] < P99_TARGET_MS
    ok_engine = engine_rate >= ENGINE_TARGET
    server_setup = (
        f"gunicorn {args.worker_class} --workers {args.workers}"
        + (f" --threads {args.threads}" if args.worker_class == "gthread" else "")
        + f"; {args.concurrency} keep-alive connections from a second process"
    )

    def cores(r, key):
        return r[key] / r["wall"]

    width = 84
    lines = [
        f"SMS endpoint benchmark — {vendor} {version}; {os.cpu_count()} cores; data: {len(dataset):,} contracts, "
        f"{meters:,} meters generated in {generate_s:.1f} s",
        server_setup + f"; warm-up {args.warmup:g} s, measured {args.duration:g} s (reference "
        f"{args.reference_duration:g} s)",
        "",
        f"{'measure':<52}{'value':>16}{'target':>16}",
        "-" * width,
        f"{'(a) SMS: GET /channels/sms/kannel, requests measured':<52}{sms['n']:>16,}",
        f"{'    messages/s sustained (200 with a reply)':<52}{sms['rate']:>16,.0f}{'>= 300':>16}",
        f"{'    p50 / p95, ms':<52}{sms['p50']:>8.1f} / {sms['p95']:<5.1f}",
        f"{'    p99, ms':<52}{sms['p99']:>16.1f}{'< 100':>16}",
        f"{'    max, ms':<52}{sms['max']:>16.1f}",
        f"{'    errors (not 200 / empty / connection)':<52}{sum(sms['errors'].values()):>16}",
        f"{'    conversations / Kannel retries (same id)':<52}"
        f"{sms['counters'].get('conversations', 0):>8,} / {sms['counters'].get('retries', 0):<6,}",
        f"{'    replies «Показания приняты. Спасибо.»':<52}{sms['counters'].get('confirmed', 0):>16,}",
        f"{'    CPU cores used: gunicorn / client / rest (db)':<52}"
        f"{cores(sms, 'server_cpu'):>5.2f} / {sms['cpu'] / sms['wall']:.2f} / "
        f"{max(0.0, cores(sms, 'machine_cpu') - cores(sms, 'server_cpu') - sms['cpu'] / sms['wall']):.2f}",
        f"{'    stored messages (whole run incl. warm-up)':<52}{stored['messages']:>16,}",
        f"{'    ... by status':<52}{', '.join(f'{k} {v}' for k, v in sorted(stored['statuses'].items()))}",
        f"{'    ... by readings reason':<52}{', '.join(f'{k} {v}' for k, v in stored['reasons'].most_common())}",
        f"{'    readings stored through the SMS channel':<52}{stored['readings']:>16,}",
        f"{'(b) reference: same endpoint, wrong secret (403)':<52}{reference['n']:>16,}",
        f"{'    requests/s':<52}{reference['rate']:>16,.0f}",
        f"{'    p50 / p99, ms':<52}{reference['p50']:>8.1f} / {reference['p99']:<5.1f}",
        f"{'    errors':<52}{sum(reference['errors'].values()):>16}",
        f"{'    CPU cores used: gunicorn / client':<52}"
        f"{cores(reference, 'server_cpu'):>5.2f} / {reference['cpu'] / reference['wall']:.2f}",
        f"{'    ratio reference / SMS (throughput)':<52}{reference['rate'] / max(sms['rate'], 1e-9):>15.2f}x",
        f"{'(c) dialogue engine alone (bench/dialogue.py)':<52}{engine_rate:>16,.0f}{'>= 5,000':>16}",
        "-" * width,
        f"SMS target {'met' if ok_rate and ok_p99 else 'NOT met'} ({'rate ok' if ok_rate else 'rate low'}, "
        f"{'p99 ok' if ok_p99 else 'p99 high'}); engine target {'met' if ok_engine else 'NOT met'}",
    ]
    if sms["errors"]:
        lines.append("errors: " + "; ".join(f"{k} ×{v}" for k, v in Counter(sms["errors"]).most_common(5)))
    if server_log:
        lines.append(f"server log: {len(server_log)} unexpected lines; first: " + " | ".join(server_log[:5]))
    if stored["failed"]:
        lines.append("failed messages: " + "; ".join(map(str, stored["failed"])))
    print("\n".join(lines))
    print("engine: " + engine_out.strip().replace("\n", "\n        "))
    clean = not sms["errors"] and not stored["failed"] and not server_log
    return 0 if ok_rate and ok_p99 and ok_engine and clean else 1


if __name__ == "__main__":
    sys.exit(main())
