"""`python -m config.devstack run|test`: what `make run` and `make test` do once installed."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from types import FrameType

from dotenv import dotenv_values

from apps.portfolios.demo_login import DEMO_PASSWORD, DEMO_USERNAME
from config.devstack.database import database_choose
from config.devstack.redis_local import LocalRedis, redis_ensure

ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def say(line: str) -> None:
    print(f"[devstack] {line}", flush=True)


def manage(*args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, check=True)


def banner_when_up(web_url: str, flower_url: str, stop: threading.Event) -> None:
    """Print where to go once the web process answers, after the start-up noise."""
    deadline = time.monotonic() + 120
    while not stop.is_set() and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{web_url}/admin/login/", timeout=2) as response:  # noqa: S310 - our own local URL
                if response.status == 200:
                    break
        except OSError:
            stop.wait(0.5)
    else:
        return
    say("=" * 64)
    say(f"Dashboard:  {web_url}/realtime/dashboard/")
    say(f"Test page:  {web_url}/realtime/test/")
    say(f"Sign in:    {web_url}/accounts/login/")
    say(f"Admin:      {web_url}/admin/")
    say(f"Demo login: {DEMO_USERNAME} / {DEMO_PASSWORD} (unless you changed it)")
    say(f"Flower:     {flower_url}/")
    say("Ctrl-C stops every process started here (Redis too, if it was started here).")
    say("=" * 64)


def run_stack(args: argparse.Namespace) -> int:
    dot_env = {k: v for k, v in dotenv_values(ROOT / ".env").items() if v is not None}
    redis_url = os.environ.get("REDIS_URL") or dot_env.get("REDIS_URL") or DEFAULT_REDIS_URL
    local_redis = redis_ensure(redis_url, say)
    honcho: subprocess.Popen[bytes] | None = None
    stop = threading.Event()
    try:
        say("Applying migrations")
        manage("migrate", "--noinput", "-v", "1")
        sources = os.environ.get("PRICE_SOURCES") or dot_env.get("PRICE_SOURCES") or "simulated"
        say("Seeding the demo data and its price history (idempotent)")
        # The history comes from the stack's own first source: the offline market by default.
        manage("seed_demo", "--source", sources.split(",")[0].strip())
        say(f"Prices from: {sources}" + (
            "  (the offline demo market; PRICE_SOURCES=yahoo for real data)"
            if sources == "simulated" else ""
        ))  # fmt: skip
        port = int(os.environ.get("PORT", args.port))
        flower_port = int(os.environ.get("FLOWER_PORT", "5555"))
        child_env = {
            **os.environ,
            # The Procfile names uvicorn and celery: the ones of this virtualenv.
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
            "PORT": str(port),
            "PRICE_SOURCES": sources,
            "FLOWER_PORT": str(flower_port),
            # Flower's API without auth is for a local machine only (README: production).
            "FLOWER_UNAUTHENTICATED_API": os.environ.get("FLOWER_UNAUTHENTICATED_API", "true"),
        }
        honcho = subprocess.Popen(
            [sys.executable, "-m", "honcho", "start", "-f", "Procfile", "-p", str(port)],
            cwd=ROOT,
            env=child_env,
        )

        def forward(_signum: int, _frame: FrameType | None) -> None:
            stop.set()
            # honcho ignores a second stop request, so forwarding is safe even when the
            # terminal already sent it the same Ctrl-C.
            if honcho and honcho.poll() is None:
                honcho.send_signal(signal.SIGTERM)

        signal.signal(signal.SIGINT, forward)
        signal.signal(signal.SIGTERM, forward)
        host = "127.0.0.1"
        threading.Thread(
            target=banner_when_up,
            args=(f"http://{host}:{port}", f"http://{host}:{flower_port}", stop),
            daemon=True,
        ).start()
        code = honcho.wait()
        # Stopped on request (Ctrl-C): that is success, not an error for make to report.
        return 0 if stop.is_set() else code
    finally:
        stop.set()
        if honcho and honcho.poll() is None:
            honcho.terminate()
            honcho.wait(timeout=30)
        stop_local_redis(local_redis)


def stop_local_redis(local_redis: LocalRedis | None) -> None:
    if local_redis:
        say("Stopping the Redis started for this run")
        local_redis.stop()


def run_tests(args: argparse.Namespace) -> int:
    redis_url = os.environ.get("REDIS_URL", DEFAULT_REDIS_URL)
    local_redis = redis_ensure(redis_url, say)
    try:
        choice = database_choose(os.environ.get("DATABASE_URL"))
        say(f"Database: {choice.description}")
        env = dict(os.environ)
        if choice.url:
            env["DATABASE_URL"] = choice.url
        command = [sys.executable, "-m", "pytest", *_workers(args.pytest_args), *args.pytest_args]
        return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode
    finally:
        stop_local_redis(local_redis)


def _workers(pytest_args: list[str]) -> list[str]:
    """Two test processes unless told otherwise (`-n N`, `-p no:xdist`, PYTEST_WORKERS): the
    suite mostly waits on real servers and workers, so two halve its time on two cores."""
    if any(arg == "-n" or arg.startswith(("-n", "--numprocesses")) for arg in pytest_args):
        return []
    if "no:xdist" in pytest_args:
        return []
    return ["-n", os.environ.get("PYTEST_WORKERS", "2")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m config.devstack", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="migrate, seed, start web, worker, beat and Flower")
    run.add_argument("--port", default="8000", help="web port (default: %(default)s)")
    run.set_defaults(handler=run_stack)
    test = commands.add_parser("test", help="run the test suite against real Redis and database")
    test.set_defaults(handler=run_tests)
    # Everything after `test` goes to pytest as is, options included (`test -x -k seed`):
    # argparse's REMAINDER refuses a first word that starts with a dash.
    args, rest = parser.parse_known_args(argv)
    if rest and args.command != "test":
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    args.pytest_args = rest
    try:
        return int(args.handler(args))
    except (RuntimeError, subprocess.CalledProcessError) as error:
        say(f"error: {error}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
