"""Progress bar and the training log (`train_log.jsonl`) of a run."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

__all__ = ["HELDOUT_PREFIX", "LOG_FILE", "ProgressLog"]

LOG_FILE = "train_log.jsonl"
HELDOUT_PREFIX = "heldout_"
_BAR_TERMS = ("loss", "reconstruction", "kl", "tc", "dip", "capacity", "discriminator")


class ProgressLog:
    """A tqdm bar (rate in steps/s and ETA from tqdm, loss terms as postfix) and a JSONL log.

    Each log record holds the step, the seconds since this call started, the
    interval's steps/s, the mean of every scalar term over the interval and,
    when the model logs it, `kl_per_latent` (nats, one per latent), and
    the held-out terms `heldout_elbo`, `heldout_reconstruction`,
    `heldout_kl` (nats) when a held-out batch is evaluated. Resuming at step s drops records past s that a killed run left behind.
    """

    def __init__(
        self, directory: Path, total: int, start: int, description: str, enabled: bool
    ) -> None:
        self.path = directory / LOG_FILE
        self._truncate_after(start)
        self.bar = tqdm(
            total=total,
            initial=start,
            unit="step",
            desc=description,
            disable=not enabled,
            dynamic_ncols=True,
        )
        self._sums: dict[str, np.ndarray] = {}
        self._count = 0
        self._interval_start: tuple[int, float] | None = None
        self.last_terms, self.last_kl_per_latent = self._last_record()

    def _last_record(self) -> tuple[dict[str, float], list[float] | None]:
        """Scalar terms and KL per latent of the newest interval record already in the log."""
        if not self.path.exists():
            return {}, None
        for line in reversed(self.path.read_text().splitlines()):
            record = json.loads(line) if line.strip() else {}
            if "diverged" not in record and "loss" in record:
                terms = {
                    k: float(v)
                    for k, v in record.items()
                    if k not in ("step", "seconds", "steps_per_second", "kl_per_latent")
                    and not k.startswith(HELDOUT_PREFIX)
                }
                return terms, record.get("kl_per_latent")
        return {}, None

    def _truncate_after(self, step: int) -> None:
        if not self.path.exists():
            return
        kept = [
            line
            for line in self.path.read_text().splitlines()
            if line.strip() and json.loads(line).get("step", 0) <= step
        ]
        self.path.write_text("".join(line + "\n" for line in kept))

    def add(self, steps: int, sums: dict[str, np.ndarray], last: dict[str, np.ndarray]) -> None:
        """Records `steps` more updates whose terms sum to `sums`; `last` fills the postfix."""
        if steps <= 0:
            return
        for name, value in sums.items():
            self._sums[name] = self._sums.get(name, 0.0) + np.asarray(value, np.float64)
        self._count += steps
        self.bar.update(steps)
        shown = {k: f"{float(last[k]):.4g}" for k in _BAR_TERMS if k in last}
        self.bar.set_postfix(shown, refresh=False)

    def mark(self, step: int, seconds: float) -> None:
        """Where the current interval starts (for its steps/s)."""
        self._interval_start = (step, seconds)

    def flush(
        self, step: int, seconds: float, heldout: dict[str, float] | None = None
    ) -> dict[str, float]:
        """Writes one record for the interval ending at `step`; returns its mean scalar terms.

        `heldout`: the held-out terms at `step` (nats), logged with the prefix "heldout_".
        """
        if self._count == 0:
            return {}
        means = {name: value / self._count for name, value in self._sums.items()}
        scalars = {k: float(v) for k, v in means.items() if np.ndim(v) == 0}
        record: dict[str, object] = {"step": step, "seconds": round(seconds, 3), **scalars}
        for name, value in (heldout or {}).items():
            record[HELDOUT_PREFIX + name] = float(value)
        if self._interval_start is not None:
            steps = step - self._interval_start[0]
            elapsed = seconds - self._interval_start[1]
            record["steps_per_second"] = steps / elapsed if elapsed > 0 else math.nan
        if "kl_per_latent" in means:
            record["kl_per_latent"] = [float(v) for v in means["kl_per_latent"]]
        self._write(record)
        self.last_terms = scalars
        self.last_kl_per_latent = record.get("kl_per_latent")
        self._sums, self._count = {}, 0
        self._interval_start = (step, seconds)
        return scalars

    def heldout_curve(self) -> list[tuple[int, float]]:
        """`[(step, held-out ELBO)]` of every record in the log that has one, in step order."""
        if not self.path.exists():
            return []
        curve = []
        for line in self.path.read_text().splitlines():
            record = json.loads(line) if line.strip() else {}
            if HELDOUT_PREFIX + "elbo" in record:
                curve.append((int(record["step"]), float(record[HELDOUT_PREFIX + "elbo"])))
        return curve

    def diverged(self, step: int, reason: str) -> None:
        self._write({"step": step, "diverged": reason})

    def _write(self, record: dict[str, object]) -> None:
        with self.path.open("a") as handle:
            handle.write(json.dumps(record) + "\n")

    def close(self) -> None:
        self.bar.close()
