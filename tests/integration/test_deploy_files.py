"""The deployment files agree with the Procfile and the guide: read as text, nothing started.

These tests need neither a database nor Redis nor Docker, so they run with `-p no:django`.
"""

from __future__ import annotations

import configparser
import ipaddress
import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("web", "worker", "beat", "flower")
CHECKED_SERVICES = (*APP_SERVICES, "redis", "postgres")
GUIDE_WEB_COMMAND = "uvicorn config.asgi:application --host 0.0.0.0 --port 8000"
GUIDE_CMD_PREFIX = GUIDE_WEB_COMMAND.split()
DATABASE_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
SYSTEMD_DIR = ROOT / "deploy" / "systemd"
PRICE_FEED_EXEC = "/opt/personal-finance/venv/bin/python manage.py start_price_feed"


@pytest.fixture(autouse=True, scope="session")
def redis_is_up() -> None:
    """Overrides the suite-wide Redis check: these tests only read files."""


@pytest.fixture(autouse=True)
def redis_state_isolated() -> None:
    """Overrides the suite-wide Redis clean-up: these tests write nothing there."""


@pytest.fixture(autouse=True)
def refresh_interval_unremembered() -> None:
    """Overrides the suite-wide reset of the feed's interval: these tests read no schedule."""


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def procfile() -> dict[str, str]:
    processes: dict[str, str] = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, command = line.partition(":")
        assert name.strip() not in processes, f"process {name!r} defined twice"
        processes[name.strip()] = command.strip()
    return processes


def command_text(service: dict[str, Any]) -> str:
    command = service["command"]
    return command if isinstance(command, str) else shlex.join(str(part) for part in command)


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in (ROOT / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, arguments = (pending + line).partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    return instructions


def compose_default(value: str) -> str:
    """What Compose makes of `${VAR:-default}` (nested too) with none of the variables set."""
    inner = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*(?::?-([^${}]*))?\}")
    while (resolved := inner.sub(lambda match: match.group(1) or "", value)) != value:
        value = resolved
    return value


def dockerfile_env() -> dict[str, str]:
    variables: dict[str, str] = {}
    for keyword, arguments in dockerfile_instructions():
        if keyword == "ENV":
            for pair in shlex.split(arguments):
                name, _, value = pair.partition("=")
                variables[name] = value
    return variables


def trusted_networks(value: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """FORWARDED_ALLOW_IPS as uvicorn reads it; anything but addresses and networks fails."""
    return [ipaddress.ip_network(item.strip()) for item in value.split(",")]


def systemd_unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    with (SYSTEMD_DIR / name).open() as unit:
        parser.read_file(unit)
    return parser


def test_compose_file_parses_without_a_version_key(compose: dict[str, Any]) -> None:
    assert isinstance(compose, dict)
    assert "version" not in compose


def test_compose_defines_every_process_and_its_backing_services(compose: dict[str, Any]) -> None:
    expected = {*CHECKED_SERVICES, "migrate"}
    assert expected <= set(compose["services"])


def test_compose_defines_every_process_with_a_health_check(compose: dict[str, Any]) -> None:
    for name in CHECKED_SERVICES:
        healthcheck = compose["services"][name].get("healthcheck", {})
        assert healthcheck.get("test"), f"{name} has no health check"
        assert not healthcheck.get("disable"), f"{name} has its health check disabled"


def test_compose_web_runs_the_guides_uvicorn_command(compose: dict[str, Any]) -> None:
    assert GUIDE_WEB_COMMAND in command_text(compose["services"]["web"])


def test_compose_beat_uses_the_database_scheduler(compose: dict[str, Any]) -> None:
    assert f"--scheduler {DATABASE_SCHEDULER}" in command_text(compose["services"]["beat"])


def test_compose_worker_sends_task_events_for_flower(compose: dict[str, Any]) -> None:
    assert "--events" in command_text(compose["services"]["worker"]).split()


def test_compose_app_services_use_production_settings(compose: dict[str, Any]) -> None:
    for name in (*APP_SERVICES, "migrate"):
        environment = compose["services"][name]["environment"]
        assert environment["DJANGO_SETTINGS_MODULE"] == "config.settings.production", name


def test_compose_app_services_wait_for_migrations(compose: dict[str, Any]) -> None:
    for name in ("web", "worker", "beat"):
        depends_on = compose["services"][name]["depends_on"]
        assert depends_on["migrate"]["condition"] == "service_completed_successfully", name
        for backing in ("redis", "postgres"):
            assert depends_on[backing]["condition"] == "service_healthy", (name, backing)


def test_compose_never_opens_flowers_api_without_authentication(
    compose: dict[str, Any],
) -> None:
    environment = compose["services"]["flower"]["environment"]
    assert "FLOWER_UNAUTHENTICATED_API" not in environment
    assert environment["FLOWER_BASIC_AUTH"]


def test_compose_trusts_proxy_headers_only_from_its_networks_gateway(
    compose: dict[str, Any],
) -> None:
    (network,) = compose["networks"]["default"]["ipam"]["config"]
    subnet = ipaddress.ip_network(compose_default(network["subnet"]))
    gateway = ipaddress.ip_address(compose_default(network["gateway"]))
    trusted = compose_default(compose["services"]["web"]["environment"]["FORWARDED_ALLOW_IPS"])
    assert gateway in subnet
    assert trusted_networks(trusted) == [ipaddress.ip_network(gateway)]


def test_no_compose_service_trusts_proxy_headers_from_anyone(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        value = (service.get("environment") or {}).get("FORWARDED_ALLOW_IPS")
        if value is not None:
            assert "*" not in compose_default(value), name


def test_dockerfile_trusts_proxy_headers_from_no_one_outside_the_container() -> None:
    trusted = dockerfile_env()["FORWARDED_ALLOW_IPS"]
    assert trusted_networks(trusted) == [ipaddress.ip_network("127.0.0.1")]


def test_compose_passes_the_https_settings_with_production_defaults(
    compose: dict[str, Any],
) -> None:
    environment = compose["services"]["web"]["environment"]
    defaults = {name: compose_default(str(environment[name])) for name in (
        "SECURE_SSL_REDIRECT", "TLS_TERMINATED_BY_PROXY", "SECURE_HSTS_SECONDS",
    )}  # fmt: skip
    assert defaults == {
        "SECURE_SSL_REDIRECT": "true",
        "TLS_TERMINATED_BY_PROXY": "false",
        "SECURE_HSTS_SECONDS": "31536000",
    }


def test_procfile_names_exactly_the_four_processes(procfile: dict[str, str]) -> None:
    assert set(procfile) == set(APP_SERVICES)


def test_procfile_web_runs_uvicorn_on_the_asgi_application(procfile: dict[str, str]) -> None:
    assert procfile["web"].startswith("uvicorn config.asgi:application")


def test_procfile_worker_sends_task_events(procfile: dict[str, str]) -> None:
    assert "--events" in procfile["worker"].split()


def test_procfile_beat_uses_the_database_scheduler(procfile: dict[str, str]) -> None:
    assert f"--scheduler {DATABASE_SCHEDULER}" in procfile["beat"]


def test_dockerfile_exposes_port_8000() -> None:
    assert ("EXPOSE", "8000") in dockerfile_instructions()


def test_dockerfile_default_command_is_the_guides_uvicorn_command() -> None:
    commands = [arguments for keyword, arguments in dockerfile_instructions() if keyword == "CMD"]
    assert len(commands) == 1
    command = json.loads(commands[0])
    assert command[: len(GUIDE_CMD_PREFIX)] == GUIDE_CMD_PREFIX


def test_dockerfile_does_not_run_as_root() -> None:
    users = [arguments for keyword, arguments in dockerfile_instructions() if keyword == "USER"]
    assert users
    assert users[-1] not in {"root", "0"}


@pytest.mark.parametrize(
    "unit",
    [
        "portfolio-web.service",
        "portfolio-worker.service",
        "price-feed.service",
    ],
)
def test_systemd_units_parse_and_read_the_production_environment(unit: str) -> None:
    parser = systemd_unit(unit)
    assert {"Unit", "Service", "Install"} <= set(parser.sections())
    service = parser["Service"]
    assert service["Environment"] == "DJANGO_SETTINGS_MODULE=config.settings.production"
    assert service["EnvironmentFile"] == "-/opt/personal-finance/.env"
    assert service["ExecStart"]
    assert parser["Install"]["WantedBy"] == "multi-user.target"


def test_price_feed_unit_runs_the_guides_management_command() -> None:
    parser = systemd_unit("price-feed.service")
    assert parser["Unit"]["Description"] == "Personal Finance Price Feed Service"
    assert parser["Service"]["ExecStart"] == PRICE_FEED_EXEC
    assert parser["Service"]["WorkingDirectory"] == "/opt/personal-finance"
    assert parser["Service"]["User"] == "finance"


def test_systemd_worker_sends_events_for_flower() -> None:
    # The beat's scheduler: tests/integration/test_deploy_single_beat.py (price-feed.service).
    worker = systemd_unit("portfolio-worker.service")["Service"]["ExecStart"]
    assert "--events" in worker.split()
