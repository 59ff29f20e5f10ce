"""Pictures of one run a person looks at, drawn from the results database alone.

`write_diagnostics(store, run_id, out_dir)` writes, for a finished run:

- `traversals.gif`: the stored latent traversals animated, one frame per
  traversal step with every latent side by side (left to right: z0, z1, ...);
- `reconstructions.png`: the stored reconstructions: a fixed sample of ten
  inputs in the top row, below each its reconstruction, the decoder's mean
  (Bernoulli probabilities) at the posterior mean code E[z|x];
- `mig_mutual_info.png`: the MIG mutual-information matrix (codes x factors, nats);
- `dci_importance.png`: the DCI importance matrix (codes x factors);
- `kl_per_latent.png`: the KL of each latent's marginal to N(0, 1), sorted (nats).

Each picture is skipped when the run did not store what it needs (runs
evaluated before reconstructions were stored have none; re-scoring them
from their checkpoint stores them).
"""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import numpy as np

from benchmark.errors import UserInputError
from benchmark.leaderboard.names import file_part
from benchmark.store import ResultStore

__all__ = ["find_run", "reconstruction_canvas", "write_diagnostics"]

RECONSTRUCTIONS_CAPTION = (
    "top: inputs (a fixed sample); bottom: reconstructions, the decoder's mean "
    "(Bernoulli probabilities) at the posterior mean code E[z|x]"
)


_SHOWN_CANDIDATES = 8


def _find(store: ResultStore, run_id: str):
    """The run whose id is `run_id`, else the one run whose id starts with it.

    An empty id, or a prefix of several runs' ids, is refused (listing them):
    picking one of them would draw a run the user did not mean.
    """
    if not run_id.strip():
        raise UserInputError("expected a run id (or a unique prefix of one), got an empty one")
    matches: dict[str, object] = {}
    for task in store.task_names():
        for record in store.runs(task):
            if record.run_id == run_id:
                return record
            if record.run_id.startswith(run_id):
                matches.setdefault(record.run_id, record)
    if not matches:
        raise UserInputError(f"{store.path}: no run {run_id!r} in this database")
    if len(matches) > 1:
        ids = sorted(matches)
        more = f", ... ({len(ids)} in all)" if len(ids) > _SHOWN_CANDIDATES else ""
        raise UserInputError(
            f"{store.path}: run id prefix {run_id!r} matches {len(ids)} runs: "
            f"{', '.join(ids[:_SHOWN_CANDIDATES])}{more}; give more of the id"
        )
    return next(iter(matches.values()))


def _factor_names(record, count: int) -> list[str]:
    try:
        from benchmark.data import get_dataset

        names = list(
            get_dataset(record.dataset, **record.spec.get("dataset_args", {})).factor_names
        )
    except Exception:  # a data file that is not on this machine: numbered factors
        names = []
    return names if len(names) == count else [f"factor {k}" for k in range(count)]


def _heatmap(matrix: np.ndarray, factors: list[str], title: str, unit: str, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    codes, num_factors = matrix.shape
    fig, ax = plt.subplots(figsize=(1.2 + 1.1 * num_factors, 1.0 + 0.45 * codes))
    image = ax.imshow(matrix, cmap="viridis", aspect="auto")
    ax.set_xticks(range(num_factors), factors, rotation=30, ha="right")
    ax.set_yticks(range(codes), [f"z{j}" for j in range(codes)])
    for j in range(codes):
        for k in range(num_factors):
            value = matrix[j, k]
            colour = "white" if value < 0.6 * matrix.max() else "black"
            ax.text(k, j, f"{value:.2f}", ha="center", va="center", fontsize=7, color=colour)
    fig.colorbar(image, ax=ax, label=unit)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _kl_bars(kl: np.ndarray, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    order = np.argsort(kl)[::-1]
    fig, ax = plt.subplots(figsize=(1.5 + 0.5 * len(kl), 3.0))
    ax.bar(range(len(kl)), kl[order], color="tab:blue")
    ax.set_xticks(range(len(kl)), [f"z{j}" for j in order])
    ax.set_ylabel("KL(q(z_j|x) || N(0,1)) (nats)")
    ax.set_title("KL per latent, sorted")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _gif(images: np.ndarray, path: Path) -> Path:
    """`images` `[latents, steps, H, W, C]` in [0, 1]: frame t shows step t of every latent."""
    import PIL.Image

    latents, steps, height, width, channels = images.shape
    gap = 2
    frames = []
    for t in range(steps):  # one frame per traversal step
        canvas = np.ones((height, latents * (width + gap) - gap, channels), np.float32)
        for j in range(latents):
            canvas[:, j * (width + gap) : j * (width + gap) + width] = images[j, t]
        pixels = (np.clip(canvas, 0, 1) * 255).astype(np.uint8)
        frame = pixels[..., 0] if channels == 1 else pixels
        frames.append(PIL.Image.fromarray(frame).resize((frame.shape[1] * 2, frame.shape[0] * 2)))
    frames += frames[-2:0:-1]  # back and forth
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=150, loop=0)
    return path


def reconstruction_canvas(images: np.ndarray, gap: int = 2) -> np.ndarray:
    """`[2 H + gap, N W + (N - 1) gap, C]` in [0, 1] from `images` `[2, N, H, W, C]` in [0, 1]:
    row 0 (the inputs) above row 1 (their reconstructions), white between the pictures."""
    rows, num, height, width, channels = images.shape
    canvas = np.ones((rows * (height + gap) - gap, num * (width + gap) - gap, channels), np.float32)
    for r in range(rows):
        for i in range(num):
            top, left = r * (height + gap), i * (width + gap)
            canvas[top : top + height, left : left + width] = images[r, i]
    return np.clip(canvas, 0.0, 1.0)


def _reconstructions_png(images: np.ndarray, path: Path) -> Path:
    """`images` `[2, N, H, W, C]` in [0, 1]: inputs above, reconstructions below, captioned."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    canvas = reconstruction_canvas(images)
    height = images.shape[2]
    fig, ax = plt.subplots(figsize=(1.6 + canvas.shape[1] / 64, 0.8 + canvas.shape[0] / 64))
    if canvas.shape[2] == 1:
        ax.imshow(canvas[..., 0], cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    else:
        ax.imshow(canvas, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([height / 2, height + 2 + height / 2], ["input", "reconstruction"])
    ax.set_title("Reconstructions", fontsize=10)
    # Wrapped to the figure's width: a 32 x 32 canvas is narrower than the caption's one line.
    wrap = max(40, int(fig.get_figwidth() * 14))
    ax.set_xlabel(textwrap.fill(RECONSTRUCTIONS_CAPTION, wrap), fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _stored_reconstructions(store: ResultStore, run_id: str) -> np.ndarray | None:
    """The run's `[2, N, H, W, C]` reconstructions in [0, 1], or None when it stored none."""
    stored = store.artifact(run_id, "reconstructions")
    if stored is None or not stored[0].endswith(".npy"):
        return None
    images = np.load(io.BytesIO(stored[1]), allow_pickle=False)
    if images.ndim != 5 or images.shape[0] != 2:
        return None
    if images.dtype == np.uint8:
        return images.astype(np.float32) / np.float32(255.0)
    return images.astype(np.float32)


def find_run(store: ResultStore, run_id: str):
    """The `RunRecord` whose id is `run_id` or starts with it; `UserInputError` when none."""
    return _find(store, run_id)


def _listed(scores: dict, key: str) -> list:
    """A stored array score, or [] when it is missing or absent (an autoencoder has no KL)."""
    value = scores.get(key)
    return value if isinstance(value, list) else []


def write_diagnostics(
    store: ResultStore, run_id: str, out_dir: Path, reconstructions: np.ndarray | None = None
) -> list[Path]:
    """Writes the run's pictures into `out_dir` (created); returns the paths written.

    `reconstructions` (`[2, N, H, W, C]` in [0, 1]) stands in for a run that
    stored none (`disbench show --checkpoint` computes them from its model).
    """
    record = _find(store, run_id)
    if record.status != "done":
        raise UserInputError(f"run {record.run_id}: status {record.status}, nothing to show")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    scores = store.scores([record.run_id])[record.run_id]
    written = []
    stored = store.artifact(record.run_id, "traversals")
    if stored is not None and stored[0].endswith(".npy"):
        images = np.load(io.BytesIO(stored[1]), allow_pickle=False).astype(np.float32)
        if images.ndim == 5:
            written.append(_gif(images, out_dir / "traversals.gif"))
    pairs = _stored_reconstructions(store, record.run_id)
    pairs = reconstructions if pairs is None else pairs
    if pairs is not None:
        written.append(_reconstructions_png(pairs, out_dir / "reconstructions.png"))
    for key, name, title, unit in (
        ("mutual_info_matrix_codes_x_factors", "mig_mutual_info.png",
         "MIG: mutual information I(z_j; v_k)", "nats"),
        ("dci_importance_matrix_codes_x_factors", "dci_importance.png",
         "DCI: importance of code j for factor k", "importance"),
    ):  # fmt: skip
        matrix = np.asarray(_listed(scores, key), dtype=np.float64)
        if matrix.ndim == 2 and matrix.size:
            names = _factor_names(record, matrix.shape[1])
            written.append(_heatmap(matrix, names, title, unit, out_dir / name))
    kl = np.asarray(_listed(scores, "rate_per_latent_nats"), dtype=np.float64)
    if kl.ndim == 1 and kl.size:
        written.append(_kl_bars(kl, out_dir / "kl_per_latent.png"))
    return written


# --- The leaderboard's diagnostics: the best run of each (posterior, beta) cell or autoencoder row. ---

_MATRICES = {
    "mig_mutual_info.png": "mutual_info_matrix_codes_x_factors",
    "dci_importance.png": "dci_importance_matrix_codes_x_factors",
    "kl_per_latent.png": "rate_per_latent_nats",
}


def planned_pictures(run) -> list[str]:
    """File names `write_diagnostics` draws for a leaderboard run (a `RunRow`); the GIF only
    alongside the matrices (runs of the real pipeline store 5-D traversal arrays), the
    reconstructions whenever the run stored them."""
    names = [name for name, key in _MATRICES.items() if isinstance(run.scores.get(key), list)]
    if "reconstructions" in run.artifacts:
        names.insert(0, "reconstructions.png")
    if names and "traversals" in run.artifacts:
        names.insert(0, "traversals.gif")
    return names


def _cell(results, run, fields: tuple[str, ...]) -> tuple[str, str]:
    """`(folder name, heading)` of a run's diagnostics cell.

    A run with a value of the task's compared field and x field
    (`benchmark.leaderboard.axes`) has the cell of that pair: posterior and
    beta give `diagonal_beta1`, "diagonal, beta 1". A run without both (an
    autoencoder) gets its entry and its other row values:
    `sparse_autoencoder_sparsity0.1`, "sparse_autoencoder, sparsity 0.1".
    """
    from benchmark.leaderboard.axes import layout, x_and_series
    from benchmark.leaderboard.tables import format_value, row_value

    place = x_and_series(results, run)
    if place is not None:
        x_field = layout(results)[2]
        series, x_value = format_value(place[1]), format_value(place[0])
        return file_part(f"{series}_{x_field}{x_value}"), f"{series}, {x_field} {x_value}"
    values = [
        (field, format_value(value))
        for field in fields
        if field != "entry" and (value := row_value(run, field)) is not None
    ]
    name = "_".join([run.label, *(f"{field}{text}" for field, text in values)])
    heading = ", ".join([run.label, *(f"{field} {text}" for field, text in values)])
    return file_part(name), heading


def cell_runs(results) -> list[tuple[str, str, object]]:
    """`[(folder name, heading, best run)]` per cell that has pictures to draw: per (compared
    field, x) value pair, e.g. (posterior, beta), and per row for runs without them
    (autoencoders); the best run by the task's main metric
    (`benchmark.leaderboard.figures.best_run`)."""
    from benchmark.leaderboard.figures import best_run, layout

    fields = tuple(layout(results)[0])
    cells: list[tuple[str, str, object]] = []
    seen: list[str] = []
    for run in results.runs:
        name, heading = _cell(results, run, fields)
        if name in seen:
            continue
        seen.append(name)
        best = best_run(
            results,
            lambda r, n=name: _cell(results, r, fields)[0] == n and bool(planned_pictures(r)),
        )
        if best is not None:
            cells.append((name, heading, best))
    return cells


def diagnostics_section(results, figure_dir: str) -> list[str]:
    """Markdown embedding each cell's pictures (written by `write_cell_diagnostics`); [] if none."""
    cells = cell_runs(results)
    if not cells:
        return []
    from benchmark.leaderboard.axes import compared_field, layout, x_and_series

    outside = any(x_and_series(results, r) is None for *_, r in cells)
    lines = [
        f"## Diagnostics of the best run of each {compared_field(results)} and "
        f"{layout(results)[2]}" + (" (and of each autoencoder)" if outside else ""),
        "",
        "Per cell, the run with the best main metric: the latent traversals animated (one frame "
        "per step, latents z0, z1, ... side by side); reconstructions of ten fixed images "
        "(inputs above; below, the decoder's mean at the posterior mean code E[z|x], an "
        "autoencoder's code); the MIG mutual-information and DCI importance matrices (codes x "
        "factors); and the KL of each latent, sorted (none for an autoencoder). "
        "`disbench show RUN_ID` draws them for any run.",
        "",
    ]
    for name, heading, run in cells:
        lines += [f"### {heading} (run `{run.run_id}`)", ""]
        for picture in planned_pictures(run):
            lines.append(f"![{picture}]({figure_dir}/diagnostics/{name}/{picture})")
        lines.append("")
    return lines


def write_cell_diagnostics(store: ResultStore, results, figure_dir: Path) -> list[Path]:
    """Draws the pictures `diagnostics_section` links, under `figure_dir/diagnostics/`."""
    written: list[Path] = []
    for name, _, run in cell_runs(results):
        written += write_diagnostics(store, run.run_id, Path(figure_dir) / "diagnostics" / name)
    return written
