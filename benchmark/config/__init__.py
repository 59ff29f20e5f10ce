"""Task files into validated configuration, and tasks into runs.

`load_task("quick")` reads `tasks/quick.yaml` (or any YAML path), merges its
`include:` files and validates it into a `TaskConfig`; `expand_task` turns a
task into `RunSpec`s with stable ids. Nothing here imports TensorFlow, not
even `default_catalog()`, which reads the model-entry and posterior-family
declarations when a task is validated.
"""

from benchmark.config.catalog import Catalog, default_catalog
from benchmark.config.loader import TASKS_DIR, load_task, resolve_task_path, shipped_tasks
from benchmark.config.runs import RunSpec, canonical_json, expand_task, run_id_of
from benchmark.config.schema import (
    DatasetConfig,
    EvaluationConfig,
    ExecutionConfig,
    LeaderboardConfig,
    ModelConfig,
    TaskConfig,
    TrainingConfig,
)

__all__ = [
    "TASKS_DIR",
    "Catalog",
    "DatasetConfig",
    "EvaluationConfig",
    "ExecutionConfig",
    "LeaderboardConfig",
    "ModelConfig",
    "RunSpec",
    "TaskConfig",
    "TrainingConfig",
    "canonical_json",
    "default_catalog",
    "expand_task",
    "load_task",
    "resolve_task_path",
    "run_id_of",
    "shipped_tasks",
]
