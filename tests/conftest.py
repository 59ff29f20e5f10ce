"""Shared fixtures: the fake pipelines' event log (`fake_pipeline`) and fresh plugin state."""

import os
from pathlib import Path

import fake_pipeline
import pytest

from benchmark import plugins
from benchmark.config import catalog

TESTS = Path(__file__).resolve().parent


@pytest.fixture
def log(tmp_path, monkeypatch) -> Path:
    """The fake pipelines' event log; worker and child processes find `fake_pipeline` (and the
    package) on PYTHONPATH."""
    path = tmp_path / "events.log"
    monkeypatch.setenv(fake_pipeline.LOG_VARIABLE, str(path))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), str(TESTS.parent)]))
    return path


@pytest.fixture
def fresh_plugins(monkeypatch):
    """Plugin state and the catalog's cached name lists are process-wide: start from fresh
    lists (the CLI loads plugins before any list is read) and leave no plugin behind for later
    tests. Each test removes the extensions it registered."""
    monkeypatch.setenv(plugins.ENVIRONMENT, "")  # restored (unset) after the test
    before = set(plugins._loaded)
    caches = [
        getattr(catalog, n) for n in dir(catalog) if hasattr(getattr(catalog, n), "cache_clear")
    ]
    for cached in caches:
        cached.cache_clear()
    yield
    os.environ[plugins.ENVIRONMENT] = ""  # later tests must not load this test's plugins
    for cached in caches:
        cached.cache_clear()
    plugins._loaded.clear()
    plugins._loaded.update(before)
