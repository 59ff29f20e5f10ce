"""Run ids and training ids of shipped tasks are pinned: results databases are keyed by them."""

from __future__ import annotations

import hashlib

import pytest

from benchmark.config.loader import TASKS_DIR, load_task
from benchmark.config.runs import expand_task

# sha256 (first 16 hex digits) of "run_id:training_id" lines, one per run, in expansion order.
# A deliberate change of a task's settings updates its line here, with the reason in the commit.
PINNED = {
    "quick": "0e400063a52f5d74",  # every metric, the post-2019 ones too (quick.yaml lists them)
    "cpu_study": "d7308cac5e0179fc",  # cap 60,000: two runs reached 30,000 still improving
    "small_sweep": "f9804fa5440352c1",
    "posterior_beta_sweep": "8b43ca3a423c30f5",
    "autoencoder_vs_vae": "d453054245561bc3",  # cpu_study's cap, 60,000
    "correlated_factors": "bc02606eb44ba019",
}


@pytest.mark.parametrize("name", sorted(PINNED))
def test_shipped_task_ids_do_not_change(name):
    specs = expand_task(load_task(TASKS_DIR / f"{name}.yaml"))
    lines = "".join(f"{s.run_id}:{s.training_id}\n" for s in specs)
    assert hashlib.sha256(lines.encode()).hexdigest()[:16] == PINNED[name]
