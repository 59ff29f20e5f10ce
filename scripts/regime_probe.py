"""Regime search probe: train one model in segments and score it after each (a trajectory).

Each segment resumes the run folder (`benchmark.training.train` resumes from
its checkpoint), then scores the posterior means on fixed draws of the grid:
MIG (20 bins, disentanglement_lib's estimator), the FactorVAE score,
normalised MI of every (latent, factor) pair, and active units
(Var_x E[z_j|x] > 0.01, Burda et al. 2016). One JSON line per point goes to
`OUT/trajectory.jsonl` with the images seen and the wall seconds so far.

    python scripts/regime_probe.py --out runs/probe_a --dataset dsprites32 \
        --fc-width 512 --beta 4 --learning-rate 1e-3 --batch-size 256 \
        --segment 2000 --steps 20000

`--table DIR` prints the regime table (markdown) of the probes saved under DIR
(each a folder with `probe.json`, `trajectory.jsonl` and `train_log.jsonl`);
with `--readme FILE` it rewrites the table's generated block there instead.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

FACTORS = ("shape", "scale", "orientation", "posX", "posY")
OWNED = ("posX", "posY", "scale")  # factors the bar asks to see each in a latent of its own
OWN_NMI = 0.3  # normalised MI a latent must carry of its factor (and not of the others)
TABLE_START = "<!-- regime table: generated -->"
TABLE_END = "<!-- /regime table -->"


def owned_factors(nmi: list[list[float]]) -> list[str]:
    """The factors of `OWNED` that one latent carries with normalised MI >= `OWN_NMI`, while
    that latent carries none of the other `OWNED` factors that much."""
    matrix = np.asarray(nmi)
    found = []
    for name in OWNED:
        k = FACTORS.index(name)
        best = int(np.argmax(matrix[:, k]))
        others = [FACTORS.index(o) for o in OWNED if o != name]
        if matrix[best, k] >= OWN_NMI and all(matrix[best, o] < OWN_NMI for o in others):
            found.append(name)
    return found


def table(folder: Path) -> list[str]:
    """Markdown rows: one per probe, at its last scored point."""
    lines = [
        "| protocol | images seen | steps/s | s per 1M images | held-out ELBO | MIG | "
        "FactorVAE | active units | own latent (NMI >= 0.3) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for probe in sorted(folder.iterdir()):
        trajectory = probe / "trajectory.jsonl"
        if not trajectory.exists():
            continue
        points = [json.loads(line) for line in trajectory.read_text().splitlines() if line]
        if not points:
            continue
        settings = json.loads((probe / "probe.json").read_text())
        log = [json.loads(line) for line in (probe / "train_log.jsonl").read_text().splitlines()]
        rates = [r["steps_per_second"] for r in log if r.get("steps_per_second")]
        rate = float(np.median(rates)) if rates else float("nan")
        last = points[-1]
        net = settings["architecture"] + (
            f"-{settings['fc_width']}" if settings["architecture"] == "fc" else ""
        )
        args = " ".join(settings["arg"])
        protocol = (
            f"{settings['entry']} {args}, {net}, {settings['dataset']}, batch "
            f"{settings['batch_size']}, lr {settings['learning_rate']:g}"
        )
        per_million = 1e6 / settings["batch_size"] / rate
        owned = ", ".join(owned_factors(last["nmi_codes_x_factors"])) or "none"
        lines.append(
            f"| {protocol} | {last['images'] / 1e6:.2f} M | {rate:.1f} | {per_million:,.0f} | "
            f"{last['heldout_elbo']:.1f} | {last['mig']:.3f} | {last['factor_vae']:.2f} | "
            f"{last['active_units']} | {owned} |"
        )
    return lines


def main() -> None:
    import sys

    if "--table" in sys.argv:
        _table_main()
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--dataset", default="dsprites32")
    parser.add_argument("--entry", default="beta_vae")
    parser.add_argument("--architecture", default="fc")
    parser.add_argument("--fc-width", type=int, default=512)
    parser.add_argument("--latent-dim", type=int, default=10)
    parser.add_argument("--posterior", default="diagonal")
    parser.add_argument(
        "--arg", action="append", default=[], help="KEY=VALUE (YAML) model argument"
    )
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--segment", type=int, default=2000)
    parser.add_argument("--score-points", type=int, default=10000)
    args = parser.parse_args()

    import yaml

    from benchmark.data import get_dataset
    from benchmark.metrics.factor_vae import compute_factor_vae
    from benchmark.metrics.mig import mig
    from benchmark.models import build_model
    from benchmark.models.representation import representation_function
    from benchmark.training import train

    extra = {}
    for item in args.arg:
        key, _, value = item.partition("=")
        extra[key] = yaml.safe_load(value)
    dataset = get_dataset(args.dataset)
    kwargs = {
        "architecture": args.architecture,
        "latent_dim": args.latent_dim,
        "posterior": args.posterior,
        **extra,
    }
    if args.architecture == "fc":
        kwargs["fc_width"] = args.fc_width
    model = build_model(args.entry, dataset.observation_shape, **kwargs)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "probe.json").write_text(json.dumps(vars(args), indent=1))
    trajectory = out / "trajectory.jsonl"
    done = (
        {json.loads(line)["steps"] for line in trajectory.read_text().splitlines()}
        if trajectory.exists()
        else set()
    )
    rs = np.random.RandomState(12345)
    factors = dataset.sample_factors(args.score_points, rs)
    images = dataset.sample_observations_from_factors(factors, rs)
    wall = 0.0
    for target in range(args.segment, args.steps + 1, args.segment):
        started = time.perf_counter()
        result = train(
            model,
            dataset,
            steps=target,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            seed=args.seed,
            checkpoint_dir=out,
            checkpoint_every=args.segment,
            log_every=min(500, args.segment),
            progress=False,
        )
        wall += time.perf_counter() - started
        if target in done:
            continue
        represent = representation_function(model, "mean", batch_size=1000)
        codes = represent(images)
        scored = mig(codes, factors)
        mi = scored["mutual_info_matrix_codes_x_factors"]
        nmi = mi / np.maximum(scored["factor_entropy_nats"], 1e-12)
        active = np.var(codes, axis=0) > 0.01
        fvae = compute_factor_vae(
            dataset,
            represent,
            np.random.RandomState(7),
            num_train=2000,
            num_eval=1000,
            num_variance_estimate=5000,
        )
        curve = result.heldout_curve
        point = {
            "steps": target,
            "images": target * args.batch_size,
            "train_seconds": round(wall, 1),
            "steps_per_second": round(result.steps_per_second, 2),
            "heldout_elbo": curve[-1][1] if curve else None,
            "mig": round(scored["mig"], 4),
            "mig_per_factor": [round(float(v), 3) for v in scored["mig_per_factor"]],
            "factor_vae": round(fvae["factorvae_eval_accuracy"], 4),
            "active_units": int(active.sum()),
            "nmi_codes_x_factors": np.round(nmi, 3).tolist(),
            "kl_per_latent": [round(float(v), 3) for v in (result.final_kl_per_latent or [])],
        }
        with trajectory.open("a") as handle:
            handle.write(json.dumps(point) + "\n")
        print(
            f"{out.name} step {target} img {target * args.batch_size / 1e6:.2f}M "
            f"{result.steps_per_second:.1f} st/s elbo {point['heldout_elbo']:.1f} "
            f"MIG {point['mig']:.3f} FVAE {point['factor_vae']:.2f} AU {point['active_units']} "
            f"per-factor {point['mig_per_factor']}",
            flush=True,
        )


def _table_main() -> None:
    import re

    parser = argparse.ArgumentParser(description="the regime table of saved probes")
    parser.add_argument("--table", type=Path, required=True)
    parser.add_argument("--readme", type=Path)
    args = parser.parse_args()
    lines = table(args.table)
    if args.readme is None:
        print("\n".join(lines))
        return
    text = args.readme.read_text()
    block = "\n".join([TABLE_START, *lines, TABLE_END])
    pattern = re.escape(TABLE_START) + r".*?" + re.escape(TABLE_END)
    args.readme.write_text(re.sub(pattern, lambda _: block, text, count=1, flags=re.DOTALL))


if __name__ == "__main__":
    main()
