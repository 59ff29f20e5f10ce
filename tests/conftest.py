"""Fixtures shared by the runner tests that use the fake pipelines (`fake_pipeline`)."""

import os
from pathlib import Path

import fake_pipeline
import pytest

TESTS = Path(__file__).resolve().parent


@pytest.fixture
def log(tmp_path, monkeypatch) -> Path:
    """The fake pipelines' event log; worker and child processes find `fake_pipeline` (and the
    package) on PYTHONPATH."""
    path = tmp_path / "events.log"
    monkeypatch.setenv(fake_pipeline.LOG_VARIABLE, str(path))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), str(TESTS.parent)]))
    return path
