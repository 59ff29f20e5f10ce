"""Status lines for a log without a terminal: each training in flight, every few minutes.

Without a terminal (`nohup disbench run ... > study.log`) there are no
progress bars, and a study's run can train for half an hour between two
"done" lines. `StatusLines` prints, every `every_s` seconds, one line per
run in flight from the newest record of its `train_log.jsonl`:

    running  c97c76bb463de554  beta_vae beta=4 posterior=iaf seed=2  step 12,000/30,000  8.6 steps/s  held-out ELBO -85.45
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

from benchmark.config.runs import RunSpec

__all__ = ["TRAIN_LOG", "StatusLines", "status_line"]

# `benchmark.training.progress.LOG_FILE`, named here so that the runner's process, which
# starts workers before anything imports TensorFlow, need not import the training package.
TRAIN_LOG = "train_log.jsonl"


def _newest_record(log: Path) -> dict[str, object] | None:
    """The last complete interval record of a training log (None before the first)."""
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line being written
        if isinstance(record, dict) and "step" in record and "diverged" not in record:
            return record
    return None


def status_line(spec: RunSpec, training_dir: Path) -> str:
    """`running  ID  DESCRIPTION  step S/T  R steps/s  held-out ELBO E` (what the log says so far).

    A point-mass run (an autoencoder) logs `heldout_loss`, shown as `held-out loss L`.
    """
    line = f"running  {spec.run_id}  {spec.describe()}"
    record = _newest_record(training_dir / TRAIN_LOG)
    if record is None:
        return line + "  (no training step logged yet)"
    line += f"  step {int(record['step']):,}/{spec.training.steps:,}"
    rate = record.get("steps_per_second")
    if isinstance(rate, int | float):
        line += f"  {rate:.1f} steps/s"
    loss, elbo = record.get("heldout_loss"), record.get("heldout_elbo")
    if isinstance(loss, int | float):  # a point mass (autoencoder) has a loss, not an ELBO
        line += f"  held-out loss {loss:.2f}"
    elif isinstance(elbo, int | float):
        line += f"  held-out ELBO {elbo:.2f}"
    return line


class StatusLines:
    """A daemon thread that writes `status_line` of every run in flight every `every_s` seconds.

    `in_flight()` returns the run ids being executed now; `write` prints one line.
    Use as a context manager: the thread stops when the block ends.
    """

    def __init__(
        self,
        every_s: float,
        in_flight: Callable[[], set[str]],
        specs: Mapping[str, RunSpec],
        training_dirs: Mapping[str, Path],
        write: Callable[[str], None],
    ) -> None:
        self.every_s = every_s
        self._in_flight = in_flight
        self._specs = specs
        self._training_dirs = training_dirs
        self._write = write
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="status-lines", daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            for run_id in sorted(self._in_flight()):
                if run_id in self._specs and run_id in self._training_dirs:
                    self._write(status_line(self._specs[run_id], self._training_dirs[run_id]))

    def __enter__(self) -> StatusLines:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
