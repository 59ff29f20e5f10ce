"""UDR across runs, computed when the leaderboard is written, from codes the runs stored.

Every finished run stores `udr_codes` (its posterior means and per-latent KL on
one shared sample of images; `benchmark.evaluation.posterior_codes`). Here the
runs are pooled and scored with `benchmark.metrics.udr` (Duan et al. 2020):

- `udr_lasso`, `udr_spearman`: against the other seeds of the same
  configuration (same entry, data set and arguments); needs 2 or more seeds;
- `udr_lasso_all`, `udr_spearman_all`: against every run of the same entry
  and data set, across hyperparameters (posterior family, beta, ...).

Nothing is stored: adding a seed and rewriting the leaderboard updates every
run's UDR without retraining. `udr_section` adds the rank correlation (across
runs) of UDR with MIG and DCI disentanglement.
"""

from __future__ import annotations

import dataclasses
import io
import json

import numpy as np
import scipy.stats

from benchmark.leaderboard.results import RunRow, TaskResults
from benchmark.metrics.udr import udr
from benchmark.store import ResultStore

__all__ = ["UDR_ARTIFACT", "UDR_KEYS", "udr_section", "with_udr"]

UDR_ARTIFACT = "udr_codes"
UDR_KEYS = ("udr_lasso", "udr_spearman", "udr_lasso_all", "udr_spearman_all")
_AGAINST = ("mig", "dci_disentanglement", "posterior_mig")
# Noise-floor-corrected Var_x(E[z_j|x]) above this: an active latent (Burda et al. 2016's cut).
ACTIVITY_THRESHOLD = 0.01


def _config_key(run: RunRow, *, with_args: bool) -> str:
    parts: dict[str, object] = {"entry": run.entry, "dataset": run.dataset}
    parts["dataset_args"] = run.dataset_args
    if with_args:
        parts["model_args"] = run.model_args
    return json.dumps(parts, sort_keys=True, default=str)


class _Malformed(Exception):
    """A stored `udr_codes` artefact that is not the arrays UDR needs."""


def _load(
    store: ResultStore, run: RunRow
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None] | None:
    """The run's codes `[N, D]`, per-latent KL `[D]` and active mask `[D]` (None when the
    artefact predates `mean_code_activity`); None if it stored none.

    Raises `_Malformed` (one line) for anything else: a database is input, and
    one damaged artefact must not take the whole leaderboard down.
    """
    stored = store.artifact(run.run_id, UDR_ARTIFACT)
    if stored is None:
        return None
    try:
        with np.load(io.BytesIO(stored[1]), allow_pickle=False) as data:
            codes = np.asarray(data["codes"], np.float64)
            kl = np.asarray(data["kl_per_latent"], np.float64)
            activity = (
                np.asarray(data["mean_code_activity"], np.float64)
                if "mean_code_activity" in data.files
                else None
            )
    except Exception as error:  # any reader error: zip, npy header, missing key, dtype
        raise _Malformed(f"{type(error).__name__}: {error}") from None
    if codes.ndim != 2 or kl.shape != (codes.shape[1],) or codes.shape[0] < 2:
        raise _Malformed(
            f"expected codes [N, D] and kl_per_latent [D], got {codes.shape}, {kl.shape}"
        )
    if activity is not None and activity.shape != kl.shape:
        raise _Malformed(f"expected mean_code_activity [D], got {activity.shape}")
    if not (np.isfinite(codes).all() and np.isfinite(kl).all()):
        raise _Malformed("non-finite values")
    return codes, kl, (None if activity is None else activity > ACTIVITY_THRESHOLD)


def with_udr(store: ResultStore, results: TaskResults) -> TaskResults:
    """`results` with the UDR keys added to the scores of every run that has a pool of 2+.

    A run whose stored codes cannot be read is left out of every pool, with a
    warning on the page.
    """
    codes = {}
    skipped: list[str] = []
    for run in results.runs:
        if run.status == "done" and UDR_ARTIFACT in run.artifacts:
            try:
                loaded = _load(store, run)
            except _Malformed as error:
                skipped.append(
                    f"run {run.run_id}: its {UDR_ARTIFACT} artefact cannot be read "
                    f"({str(error)[:200]}); it is left out of UDR"
                )
                continue
            if loaded is not None:
                codes[run.run_id] = loaded
    if skipped:
        results = dataclasses.replace(results, warnings=(*results.warnings, *skipped))
    extra: dict[str, dict[str, float]] = {run_id: {} for run_id in codes}
    for suffix, with_args in (("", True), ("_all", False)):
        pools: dict[str, list[str]] = {}
        for run in results.runs:
            if run.run_id in codes:
                pools.setdefault(_config_key(run, with_args=with_args), []).append(run.run_id)
        for members in pools.values():
            if len(members) < 2 or len({len(codes[m][0]) for m in members}) != 1:
                continue
            for correlation in ("lasso", "spearman"):
                scores = udr(
                    [codes[m][0] for m in members],
                    [codes[m][1] for m in members],
                    correlation=correlation,
                    active=[codes[m][2] for m in members],
                )["model_scores"]
                for member, score in zip(members, scores, strict=True):
                    extra[member][f"udr_{correlation}{suffix}"] = float(score)
    if not any(extra.values()):
        return results
    runs = tuple(
        dataclasses.replace(run, scores={**run.scores, **extra.get(run.run_id, {})})
        for run in results.runs
    )
    return dataclasses.replace(results, runs=runs)


def _value(run: RunRow, key: str) -> float | None:
    value = run.scores.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
        return None
    return float(value)


def udr_section(results: TaskResults) -> list[str]:
    """Markdown: Spearman rank correlation across runs of each UDR key with MIG and DCI
    (and the posterior MIG); [] when no run has a UDR score."""
    done = [r for r in results.runs if r.status == "done"]
    present = [k for k in UDR_KEYS if any(_value(r, k) is not None for r in done)]
    against = [k for k in _AGAINST if any(_value(r, k) is not None for r in done)]
    if not present or not against:
        return []
    lines = [
        "## UDR and supervised metrics",
        "",
        "UDR (Duan et al. 2020, as disentanglement_lib computes it) ranks runs without labels, "
        "from their codes of one shared sample of 1,000 images: `udr_*` against the other "
        "seeds of the same configuration, `udr_*_all` against every run of the same model and "
        "data set. Each cell is Spearman's rank correlation across runs (n runs) of the UDR "
        "score with the supervised metric; near 1, UDR would pick the same models.",
        "",
        "| UDR | " + " | ".join(against) + " |",
        "|---|" + "|".join("---:" for _ in against) + "|",
    ]
    for key in present:
        cells = []
        for other in against:
            pairs = [(_value(r, key), _value(r, other)) for r in done]
            pairs = [(a, b) for a, b in pairs if a is not None and b is not None]
            if len(pairs) < 3 or len({a for a, _ in pairs}) < 2 or len({b for _, b in pairs}) < 2:
                cells.append("–")
                continue
            rho = scipy.stats.spearmanr([a for a, _ in pairs], [b for _, b in pairs])[0]
            cells.append(f"{rho:.2f} (n={len(pairs)})")
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    return [*lines, ""]
