"""One run, wherever it executes: call the pipeline, check what it returns, never raise.

The pipeline is `execute_run(spec, workdir, progress, training_dir=...) -> RunResult`
(default `benchmark.pipeline:execute_run`); `training_dir` (passed when the
runner gives one) is the checkpoint folder shared by every run of the same
training id, so a finished training there is only re-scored. Its result
(`benchmark.store.RunResult`) holds:

- `scores`: score keys to numbers or (nested) lists of numbers;
- `artifacts`: `{name: path}` of files the run wrote, relative to `workdir`
  and inside it, e.g. `{"traversals": "traversals.png"}`; their bytes are read
  here and stored in the database, so they reach the driver from any machine.
  An absolute path, a path out of the folder, or a file larger than
  `max_artifact_bytes` fails the run.
- `durations`: `{name: seconds}`, e.g. `{"train_s": 812.0, "eval_s": 95.1}`.

A pipeline may also return a plain dict of scores with the reserved keys
`"artifacts"` and `"durations"` (the older contract, still accepted).

Any exception (a `TrainingDiverged` on NaN, a full disk, a bug), and a
`SystemExit`, makes a failed outcome with a one-line reason and the
traceback. The run folder is locked (`benchmark.runner.locks`) while the
pipeline writes it; a folder locked by another process gives a `BUSY`
outcome, which the driver puts back to pending.
"""

from __future__ import annotations

import errno
import importlib
import importlib.util
import time
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from benchmark.absent import absent_reason
from benchmark.config.runs import RunSpec
from benchmark.errors import UserInputError
from benchmark.runner.environment import host_name, package_versions
from benchmark.runner.locks import RunFolderBusy, hold_run_folder
from benchmark.store import RunOutcome, RunResult, utc_now

__all__ = [
    "BUSY",
    "DEFAULT_MAX_ARTIFACT_MB",
    "DEFAULT_PIPELINE",
    "Pipeline",
    "check_pipeline",
    "execute_one",
    "failed_outcome",
    "resolve_pipeline",
]

DEFAULT_PIPELINE = "benchmark.pipeline:execute_run"
Pipeline = Callable[..., Mapping[str, Any]]
# The cap on one artefact file (MB = 10^6 bytes): SQLite stores at most ~1 GB in one value.
DEFAULT_MAX_ARTIFACT_MB = 100.0
# The status of an outcome whose run folder another process holds: nothing ran.
BUSY = "busy"
# How long a run waits for its folder's lock (seconds): a killed previous holder needs a moment.
LOCK_WAIT_S = 5.0


def check_pipeline(pipeline: str | Pipeline) -> None:
    """Fails early, in the driver, when a `module:function` pipeline cannot be found.

    Only the module's location is looked up; it is imported by the workers.
    """
    if callable(pipeline):
        return
    module, sep, name = str(pipeline).partition(":")
    if not sep or not module or not name.isidentifier():
        raise UserInputError(f"pipeline {pipeline!r}: expected MODULE:FUNCTION")
    try:
        found = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        found = None
    if found is None:
        raise UserInputError(f"pipeline {pipeline!r}: no module named {module!r}")


def resolve_pipeline(pipeline: str | Pipeline) -> Pipeline:
    """The pipeline function itself (imports `module` for `module:function`)."""
    if callable(pipeline):
        return pipeline
    module_name, _, name = str(pipeline).partition(":")
    function = getattr(importlib.import_module(module_name), name, None)
    if not callable(function):
        raise UserInputError(f"pipeline {pipeline!r}: {module_name} has no function {name!r}")
    return function


def _number_tree(value: object, key: str) -> float | list | dict:
    """A float, or nested lists of floats, from numbers, numpy scalars/arrays, lists; an
    absent marker (`benchmark.absent`) passes through as it is."""
    if absent_reason(value) is not None:
        return dict(value)  # type: ignore[call-overload]
    if hasattr(value, "tolist") and not isinstance(value, list | tuple):
        value = value.tolist()  # numpy arrays and scalars
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, list | tuple):
        return [_number_tree(v, key) for v in value]
    raise TypeError(
        f"score {key!r}: expected a number or a (nested) list of numbers, "
        f"got {type(value).__name__}"
    )


def _artifact_file(name: str, relative: object, workdir: Path, max_bytes: int | None) -> Path:
    """The file of artefact `name`: relative to `workdir`, inside it, at most `max_bytes`."""
    if not isinstance(relative, str | Path) or not str(relative):
        raise TypeError(f"artefact {name!r}: expected a file name, got {relative!r}")
    path = Path(relative)
    if path.is_absolute():
        raise ValueError(
            f"artefact {name!r}: {str(path)!r} is an absolute path; "
            "expected a path relative to the run folder"
        )
    folder = workdir.resolve()
    full = (folder / path).resolve()
    if not full.is_relative_to(folder):
        raise ValueError(
            f"artefact {name!r}: {str(path)!r} is outside the run folder; expected a path inside it"
        )
    if not full.is_file():
        raise FileNotFoundError(f"artefact {name!r}: the pipeline named {full}, which is missing")
    size = full.stat().st_size
    if max_bytes is not None and size > max_bytes:
        raise ValueError(
            f"artefact {name!r}: {path} is {size:,} bytes, more than the limit of "
            f"{max_bytes:,} bytes (--max-artifact-mb / execution.max_artifact_mb)"
        )
    return full


def _collect(
    result: object, workdir: Path, max_artifact_bytes: int | None
) -> tuple[dict, dict, dict]:
    """`(scores, artifacts, durations)` from a pipeline result; TypeError/ValueError/OSError if malformed."""
    if isinstance(result, RunResult):
        artifact_paths, durations_raw = result.artifacts, result.durations
        result = dict(result.scores)
    elif isinstance(result, Mapping):
        result = dict(result)
        artifact_paths = result.pop("artifacts", None) or {}
        durations_raw = result.pop("durations", None) or {}
    else:
        raise TypeError(
            f"the pipeline returned {type(result).__name__}, expected a RunResult or a dict of scores"
        )
    scores = {}
    for key, value in result.items():
        if not isinstance(key, str) or not key:
            raise TypeError(f"score keys must be non-empty strings, got {key!r}")
        scores[key] = _number_tree(value, key)
    if not isinstance(artifact_paths, Mapping) or not isinstance(durations_raw, Mapping):
        raise TypeError("'artifacts' and 'durations' must be dicts")
    artifacts = {}
    for name, relative in artifact_paths.items():
        path = _artifact_file(str(name), relative, workdir, max_artifact_bytes)
        artifacts[str(name)] = (path.name, path.read_bytes())
    durations = {str(k): float(v) for k, v in durations_raw.items()}
    return scores, artifacts, durations


# The one-line reason is shown in the console and the leaderboard; the full
# traceback is kept beside it in the database (`error_detail`).
REASON_MAX_CHARS = 500


def _reason(error: BaseException) -> str:
    text = " ".join(f"{type(error).__name__}: {error}".split())
    if len(text) > REASON_MAX_CHARS:
        text = text[: REASON_MAX_CHARS - 40].rstrip() + " ... (full traceback in the database)"
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        text += " (the disk is full: free space and run again; finished runs are kept)"
    return text


def failed_outcome(
    run_id: str,
    reason: str,
    detail: str = "",
    started_at: str | None = None,
    duration_s: float = 0.0,
) -> RunOutcome:
    """A failed outcome made outside the worker (e.g. the worker process died)."""
    now = utc_now()
    return RunOutcome(
        run_id=run_id,
        status="failed",
        started_at=started_at or now,
        finished_at=now,
        duration_s=duration_s,
        error=reason,
        error_detail=detail or None,
    )


def execute_one(
    spec_data: Mapping[str, Any],
    workdir: str | Path,
    pipeline: str | Pipeline,
    progress: bool,
    max_artifact_bytes: int | None = int(DEFAULT_MAX_ARTIFACT_MB * 1e6),
    training_dir: str | Path | None = None,
) -> RunOutcome:
    """Runs one run in this process and returns its outcome; only KeyboardInterrupt escapes.

    `spec_data` is `RunSpec.to_dict()` (plain data travels to any worker);
    `workdir` is the run's own folder; `training_dir` the checkpoint folder of
    its training (given to the pipeline as `training_dir=` when not None),
    where checkpoints let it resume or re-score. `workdir` is locked for this
    process while the pipeline runs.
    """
    spec = RunSpec.from_dict(spec_data)
    started_at = utc_now()
    start = time.perf_counter()

    def outcome(status: str, **fields: Any) -> RunOutcome:
        """The run's outcome, stamped now with its times, versions and host."""
        return RunOutcome(
            run_id=spec.run_id,
            status=status,
            started_at=started_at,
            finished_at=utc_now(),
            duration_s=time.perf_counter() - start,
            versions=package_versions(),
            host=host_name(),
            **fields,
        )

    directory = Path(workdir)
    try:
        with hold_run_folder(directory, wait_s=LOCK_WAIT_S):
            function = resolve_pipeline(pipeline)
            extra = {} if training_dir is None else {"training_dir": Path(training_dir)}
            result = function(spec, directory, progress=progress, **extra)
            scores, artifacts, durations = _collect(result, directory, max_artifact_bytes)
    except RunFolderBusy as error:
        return outcome(BUSY, error=str(error))
    except (Exception, SystemExit) as error:  # every failure is recorded; the suite goes on
        reason = _reason(error)
        if isinstance(error, SystemExit):
            reason = f"SystemExit: the pipeline called sys.exit({error.code!r})"
        return outcome(
            "failed",
            error=reason,
            error_detail="".join(traceback.format_exception(error)),
        )
    return outcome("done", scores=scores, artifacts=artifacts, durations=durations)
