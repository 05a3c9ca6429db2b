"""Production refuses development defaults and missing secrets (docker/ deployment)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GOOD = {
    "SECRET_KEY": "x" * 50,
    "FIELD_ENCRYPTION_KEYS": "u3Q1mHkYv6Ks2x5k9pJ0cTqM8eX4wR7nB2fL1aZ6yD0=",
    "BIGCOMMERCE_CLIENT_ID": "cid",
    "BIGCOMMERCE_CLIENT_SECRET": "secret",
    "DATABASE_URL": "postgres://u:p@db:5432/x",
    "REDIS_URL": "redis://redis:6379/0",
    "APP_URL": "https://middleware.example.com",
    "ALLOWED_HOSTS": "middleware.example.com",
}


def _load(env_overrides: dict[str, str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in GOOD and k != "DJANGO_SETTINGS_MODULE"}
    env.update(env_overrides)
    env["DJANGO_SETTINGS_MODULE"] = "middleware.settings.production"
    return subprocess.run([sys.executable, "-c", "import django; django.setup(); print('loaded')"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60)


def test_production_loads_with_every_secret_set():
    result = _load(GOOD)
    assert result.returncode == 0, result.stderr
    assert "loaded" in result.stdout


def test_production_refuses_defaults_and_names_each_problem():
    result = _load({"APP_URL": "http://127.0.0.1:8000"})
    assert result.returncode != 0
    for problem in ("SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "BIGCOMMERCE_CLIENT_ID", "DATABASE_URL", "REDIS_URL",
                    "APP_URL must be an https"):
        assert problem in result.stderr


def test_production_refuses_the_development_secret_key():
    result = _load({**GOOD, "SECRET_KEY": "dev-insecure-secret-key-change-me"})
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr
