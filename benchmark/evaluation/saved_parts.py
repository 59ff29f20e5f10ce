"""Finished parts of a run's evaluation, kept in its folder so an interrupted evaluation resumes.

A run's evaluation has parts that take minutes each on a CPU (the metrics on
mean codes, on sampled codes, the latent scores, the gaps and
decomposition). A run killed during its evaluation (`disbench run`
interrupted, a sitting that ends, a timeout) used to compute them all again.
`SavedParts` writes each finished part's scores, durations and artefact
names to `<run folder>/evaluation_parts.json` (replaced atomically), and the
next attempt takes them from there instead of recomputing. Every part draws
from its own explicit seeds (no global random state), so a resumed
evaluation gives the values an uninterrupted one gives.

Parts count only for the training they were computed from: the file records
the training's step and its checkpoint folder, and a file written for another
(a training that went on, a checkpoint elsewhere) is ignored. The pipeline
deletes the file once every part is done.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["PARTS_FILE", "SavedParts"]

PARTS_FILE = "evaluation_parts.json"


def _numpy_as_lists(value: Any) -> Any:
    """`json.dumps` fallback: numpy arrays and scalars as (nested) lists and Python numbers."""
    if isinstance(value, np.ndarray | np.generic):
        return value.tolist()
    raise TypeError(f"cannot save {type(value).__name__} in {PARTS_FILE}")


class SavedParts:
    """The finished parts of one run's evaluation of one training (`<folder>/evaluation_parts.json`).

    `training` identifies the trained weights the parts were computed from
    (e.g. `{"steps": 15000, "checkpoints": "/.../trainings/ab12"}`); parts
    saved for another training are not returned.
    """

    def __init__(self, folder: Path, training: dict[str, Any]) -> None:
        self.path = Path(folder) / PARTS_FILE
        self.training = training
        self._parts: dict[str, dict[str, Any]] = {}
        try:
            saved = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return
        if isinstance(saved, dict) and saved.get("training") == self.training:
            parts = saved.get("parts")
            if isinstance(parts, dict):
                self._parts = {k: v for k, v in parts.items() if isinstance(v, dict)}

    def get(self, name: str) -> dict[str, Any] | None:
        """`{"scores", "durations", "artifacts"}` of part `name` if it finished before, else None."""
        return self._parts.get(name)

    def put(
        self,
        name: str,
        scores: dict[str, Any],
        durations: dict[str, float] | None = None,
        artifacts: dict[str, str] | None = None,
    ) -> None:
        """Records part `name` as finished (the file is replaced atomically)."""
        part = {"scores": scores, "durations": durations or {}, "artifacts": artifacts or {}}
        # Through JSON and back, so a part reads the same whether saved now or by an earlier
        # attempt (arrays as lists; NaN and infinities as JSON's NaN and Infinity).
        text = json.dumps(part, default=_numpy_as_lists)
        self._parts[name] = json.loads(text)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"training": self.training, "parts": self._parts}))
        os.replace(temporary, self.path)

    def clear(self) -> None:
        """Deletes the file (the evaluation is complete)."""
        self._parts = {}
        self.path.unlink(missing_ok=True)
