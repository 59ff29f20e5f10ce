"""The runner: a task's runs handed to an executor (local or Ray), outcomes into the store.

`run_task(task, store, executor, runs_dir=...)` does one `disbench run`;
`make_executor("local" | "ray", pipeline, ...)` builds the executor. The
pipeline (default `benchmark.pipeline:execute_run`) is injectable, so tests
and other frameworks can supply their own training-and-scoring function.
"""

from benchmark.runner.executors import EXECUTORS, Executor, Job, make_executor
from benchmark.runner.executors.local import LocalExecutor
from benchmark.runner.suite import RunSummary, plan_runs, run_task
from benchmark.runner.worker import DEFAULT_PIPELINE, check_pipeline, execute_one

__all__ = [
    "DEFAULT_PIPELINE",
    "EXECUTORS",
    "Executor",
    "Job",
    "LocalExecutor",
    "RunSummary",
    "check_pipeline",
    "execute_one",
    "make_executor",
    "plan_runs",
    "run_task",
]
