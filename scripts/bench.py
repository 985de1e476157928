#!/usr/bin/env python3
"""Benchmarks of `turnout serve` against baselines, side by side in one run.

    .venv/bin/python scripts/bench.py inbound|mixed|burst|send|all [--postgres URL]

Each runs its baseline and the real `turnout serve` (behind fake Slack and
Twilio) in the same run on fresh databases (SQLite, PostgreSQL with
`--postgres`) and prints both, their ratio, the machine and versions.

`inbound`: signed Twilio incoming-message webhooks (members texting in from
500 numbers), `--concurrency` at a time, against three servers, each its own
process on this machine:

- **bare**: aiohttp and Twilio's RequestValidator, storing nothing;
- **naive**: the same, committing one row per request (SQLAlchemy Core) before it answers;
- **turnout**: the real `turnout serve`.

It prints req/s, latency percentiles, CPU per request and the ratio to the
naive server; with `--postgres`, also `--instances` servers on one database.

`mixed` (`bench_mixed.py`): the webhooks alone, then while the Slack outbox
drains and activists answer in threads. `burst` (`bench_burst.py`):
`--replies` members' replies into `--activists` activists' threads under
Slack's per-channel limit, against the best that limit allows. `send`
(`bench_send.py`): `--clickers` activists clicking Send next together, click
to Twilio, and texts a second against `--sms-rate`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import asyncpg
from sqlalchemy.engine import make_url
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TOKEN = "bench-auth-token"
PUBLIC = "https://bench.example.org"
SENDER = "+447700900000"


@dataclass
class Result:
    server: str
    database: str
    requests: int
    seconds: float
    latencies: list[float]
    cpu_seconds: float
    errors: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    def row(self, naive: Result | None) -> str:
        ratio = f"{self.rate / naive.rate:.2f}×" if naive else ""
        return (
            f"| {self.server} | {self.database} | {self.rate:,.0f} | {self.pct(0.50):.0f} | "
            f"{self.pct(0.99):.0f} | {max(self.latencies) * 1000:.0f} | "
            f"{self.cpu_seconds / self.requests * 1e6:,.0f} | {self.errors} | {ratio} |"
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_of(pid: int) -> float:
    """User and system CPU seconds of process `pid` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def wait_up(url: str, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}")
            try:
                async with http.get(url) as response:
                    if response.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError(f"{url} did not come up")


async def load(ports: list[int], requests: int, concurrency: int) -> tuple[float, list[float], int]:
    """POST `requests` signed inbound webhooks, `concurrency` at a time, spread over `ports`
    in turn (as a load balancer would)."""
    validator = RequestValidator(TOKEN)
    signed_url = PUBLIC + "/twilio/inbound"
    urls = [f"http://127.0.0.1:{port}/twilio/inbound" for port in ports]
    bodies = []
    for n in range(requests):
        params = {
            "MessageSid": f"SM{uuid.uuid4().hex}",
            "AccountSid": "AC" + "0" * 32,
            "From": f"+447400{100000 + n % 500:06d}",
            "To": SENDER,
            "Body": "Yes I posted it yesterday, thanks for the reminder",
            "NumMedia": "0",
        }
        signature = validator.compute_signature(signed_url, params)
        bodies.append((urls[n % len(urls)], params, signature))
    latencies: list[float] = []
    errors = 0
    queue: asyncio.Queue[tuple[str, dict[str, str], str]] = asyncio.Queue()
    for item in bodies:
        queue.put_nowait(item)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def worker() -> None:
            nonlocal errors
            while not queue.empty():
                url, params, signature = queue.get_nowait()
                start = time.perf_counter()
                async with http.post(
                    url, data=params, headers={"X-Twilio-Signature": signature}
                ) as response:
                    await response.read()
                    if response.status != 200:
                        errors += 1
                latencies.append(time.perf_counter() - start)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - start, latencies, errors


async def measure(
    name: str,
    database: str,
    procs: list[subprocess.Popen[bytes]],
    ports: list[int],
    args: argparse.Namespace,
) -> Result:
    """Load the servers `procs` (listening on `ports`), then stop them; CPU is their sum."""
    try:
        for proc, port in zip(procs, ports, strict=True):
            await wait_up(f"http://127.0.0.1:{port}/healthz", proc)
        await load(ports, min(200, args.requests), args.concurrency)  # warm up
        cpu = sum(cpu_of(proc.pid) for proc in procs)
        seconds, latencies, errors = await load(ports, args.requests, args.concurrency)
        used = sum(cpu_of(proc.pid) for proc in procs) - cpu
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGINT)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    return Result(name, database, args.requests, seconds, latencies, used, errors)


def baseline(kind: str, url: str | None, port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, str(ROOT / "scripts" / "bench_naive.py"), kind, str(port)]
    return subprocess.Popen([*command, url or ""], cwd=ROOT)


async def turnout(
    url: str, ports: list[int], profile: str | None = None
) -> tuple[list[subprocess.Popen[bytes]], object]:
    """`turnout serve` on `url`, one process per port, behind one fake Slack and Twilio."""
    from bot.fakes.slack import FakeSlack
    from bot.fakes.twilio import FakeTwilio

    slack = FakeSlack(signing_secret="bench-signing-secret")
    twilio = FakeTwilio(auth_token=TOKEN)
    await slack.start()
    await twilio.start()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": "bench-signing-secret",
        "SLACK_API_URL": slack.api_url,
        "TWILIO_ACCOUNT_SID": twilio.account_sid,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_FROM_NUMBER": SENDER,
        "TWILIO_API_URL": twilio.api_url,
        "PUBLIC_BASE_URL": PUBLIC,
        "SUPPORT_CHANNEL_ID": "C0SUPPORT",
        "HOST": "127.0.0.1",
    }
    turnout_bin = str(Path(sys.executable).with_name("turnout"))
    subprocess.run([turnout_bin, "migrate"], env=env, cwd=ROOT, check=True, capture_output=True)
    command = [turnout_bin, "serve"]
    if profile:
        command = [sys.executable, "-m", "cProfile", "-o", profile, *command]
    procs = [
        subprocess.Popen(
            command,
            env={**env, "PORT": str(port)},
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]

    async def stop() -> None:
        await slack.stop()
        await twilio.stop()

    return procs, stop


class scratch_postgres:
    """A fresh PostgreSQL database next to the one `base` names, dropped afterwards."""

    def __init__(self, base: str) -> None:
        self.base = make_url(base)
        self.name = f"turnout_bench_{uuid.uuid4().hex[:10]}"

    def _dsn(self, database: str) -> str:
        url = self.base.set(drivername="postgresql", database=database)
        return url.render_as_string(hide_password=False)

    async def __aenter__(self) -> str:
        conn = await asyncpg.connect(self._dsn(self.base.database or "postgres"))
        await conn.execute(f'CREATE DATABASE "{self.name}"')
        await conn.close()
        return self.base.set(database=self.name).render_as_string(hide_password=False)

    async def __aexit__(self, *exc: object) -> None:
        conn = await asyncpg.connect(self._dsn(self.base.database or "postgres"))
        await conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        await conn.close()


async def inbound(args: argparse.Namespace) -> None:
    results: list[tuple[Result, Result | None]] = []
    port = free_port()
    bare = await measure(
        "bare aiohttp + validator", "—", [baseline("bare", None, port)], [port], args
    )
    results.append((bare, None))
    engines = ["sqlite"] + (["postgresql"] if args.postgres else [])
    with tempfile.TemporaryDirectory(prefix="turnout-bench-") as tmp:
        for engine in engines:
            urls = []
            for n in range(2):
                if engine == "sqlite":
                    urls.append(f"sqlite+aiosqlite:///{Path(tmp) / f'{engine}{n}.db'}")
            async with scratch_pair(engine, args.postgres, urls) as (naive_url, turnout_url):
                port = free_port()
                proc = baseline("naive", naive_url, port)
                naive = await measure("naive, one row a request", engine, [proc], [port], args)
                results.append((naive, None))
                port = free_port()
                profile = f"{args.profile}.{engine}" if args.profile else None
                procs, stop = await turnout(turnout_url, [port], profile)
                try:
                    served = await measure("turnout serve", engine, procs, [port], args)
                finally:
                    await stop()  # type: ignore[operator]
                results.append((served, naive))
            if engine == "postgresql" and args.instances > 1:
                results.append((await _instances(args, args.instances), naive))
    print(f"\nInbound webhook: {args.requests:,} signed requests, {args.concurrency} at a time\n")
    print(
        "| server | database | req/s | p50 ms | p99 ms | max ms | CPU µs/req | errors | × naive |"
    )
    print("|---|---|---|---|---|---|---|---|---|")  # the last column is turnout's ratio
    for result, naive in results:
        print(result.row(naive))
    machine()
    if args.profile:
        import pstats

        for engine in engines:
            print(f"\nWhere turnout serve's time went ({engine}), by own time:")
            pstats.Stats(f"{args.profile}.{engine}").sort_stats("tottime").print_stats(20)


async def _instances(args: argparse.Namespace, count: int) -> Result:
    """`count` turnout serve processes on one fresh PostgreSQL database, requests spread."""
    assert args.postgres
    async with scratch_postgres(args.postgres) as url:
        ports = [free_port() for _ in range(count)]
        procs, stop = await turnout(url, ports)
        try:
            return await measure(f"turnout serve ×{count}", "postgresql", procs, ports, args)
        finally:
            await stop()  # type: ignore[operator]


class scratch_pair:
    """Two fresh databases of `engine` (one per server)."""

    def __init__(self, engine: str, postgres: str | None, sqlite_urls: list[str]) -> None:
        self.engine = engine
        self.pg = [scratch_postgres(postgres) for _ in range(2)] if postgres else []
        self.sqlite_urls = sqlite_urls

    async def __aenter__(self) -> tuple[str, str]:
        if self.engine == "sqlite":
            return self.sqlite_urls[0], self.sqlite_urls[1]
        return await self.pg[0].__aenter__(), await self.pg[1].__aenter__()

    async def __aexit__(self, *exc: object) -> None:
        if self.engine == "postgresql":
            for db in self.pg:
                await db.__aexit__(*exc)


def machine() -> None:
    from importlib.metadata import version

    print(
        f"\n{platform.python_implementation()} {platform.python_version()} on "
        f"{platform.machine()}, {os.cpu_count()} cores; aiohttp {version('aiohttp')}, "
        f"SQLAlchemy {version('sqlalchemy')}, aiosqlite {version('aiosqlite')}, "
        f"asyncpg {version('asyncpg')}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "benchmark",
        choices=["inbound", "mixed", "burst", "send", "all"],
        help="what to measure",
    )
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--postgres", metavar="URL", help="also measure on PostgreSQL")
    parser.add_argument(
        "--instances",
        type=int,
        default=2,
        metavar="N",
        help="with --postgres, also N turnout serve processes on one database (default 2)",
    )
    parser.add_argument(
        "--profile", metavar="FILE", help="run turnout serve under cProfile, writing FILE.<engine>"
    )
    parser.add_argument(
        "--replies", type=int, default=27_000, help="burst: members replying (default 27,000)"
    )
    parser.add_argument(
        "--activists", type=int, default=300, help="burst and send: activists (default 300)"
    )
    parser.add_argument(
        "--clickers", type=int, default=100, help="send: activists clicking (default 100)"
    )
    parser.add_argument("--rounds", type=int, default=5, help="send: clicks each (default 5)")
    parser.add_argument(
        "--sms-rate", type=float, default=20.0, help="send: turnout serve --sms-rate (default 20)"
    )
    parser.add_argument(
        "--timeout", type=float, default=900, help="burst and send: give up after SECONDS"
    )
    args = parser.parse_args()
    import bench_burst
    import bench_mixed
    import bench_send

    runs = {
        "inbound": inbound,
        "mixed": bench_mixed.mixed,
        "burst": bench_burst.burst,
        "send": bench_send.send,
    }
    for name in runs if args.benchmark == "all" else [args.benchmark]:
        asyncio.run(runs[name](args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
