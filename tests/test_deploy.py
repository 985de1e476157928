"""The container files hold together: what the README's deployment section promises."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_compose_runs_two_instances_on_one_postgresql_migrated_once() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    instances = [name for name, s in services.items() if s.get("command") is None and "build" in s]
    assert sorted(instances) == ["turnout-1", "turnout-2"]
    urls = {services[name]["environment"]["DATABASE_URL"] for name in [*instances, "migrate"]}
    assert len(urls) == 1 and next(iter(urls)).startswith("postgresql+asyncpg://")
    assert services["migrate"]["command"] == ["turnout", "migrate"]
    for name in instances:
        # No instance starts before the one migration has finished.
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
    balancer = compose["configs"]["balancer"]["content"]
    assert all(f"server {name}:3000" in balancer for name in instances)


def test_the_image_serves_what_the_project_installs() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.startswith("#") and "FROM python:3.11" in dockerfile
    for package in ("bot", "handlers", "storage"):
        assert f"COPY {package} ./{package}" in dockerfile
    assert 'CMD ["turnout", "serve"]' in dockerfile
    assert "/healthz" in dockerfile
