"""The storefront script file: read once per process, versioned by its content, served gzipped when asked."""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.conf import settings

SCRIPT_FILE = Path(__file__).resolve().parent / "storefront.js"
URL_PREFIX = "/storefront/"
FILE_NAME = "ordergroove.js"


@dataclass(frozen=True)
class ScriptAsset:
    content: bytes
    gzipped: bytes
    version: str  # the first 16 hex digits of the content's sha256: the URL changes when the content does


@cache
def script_asset() -> ScriptAsset:
    content = SCRIPT_FILE.read_bytes()
    return ScriptAsset(content=content, gzipped=gzip.compress(content, compresslevel=9, mtime=0),
                       version=hashlib.sha256(content).hexdigest()[:16])


def script_url() -> str:
    """Absolute URL of the current version (what the registered tag loads)."""
    return f"{settings.APP_URL.rstrip('/')}{URL_PREFIX}{script_asset().version}/{FILE_NAME}"
