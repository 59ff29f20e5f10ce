"""Training: the seeded, resumable loop with checkpoints, a NaN guard and progress.

Public API:

- `train(model, dataset, *, steps, batch_size=64, learning_rate=1e-4,
  seed=0, checkpoint_dir, checkpoint_every=1000, log_every=100,
  progress=True, heldout=None, heldout_size=256, convergence_tolerance=0.25,
  stop_when_converged=False, precision="float32", min_steps=0, xla=None)
  -> TrainResult` (steps_done, seconds,
  steps_per_second, final_loss_terms, resumed_from_step, final_kl_per_latent,
  heldout_curve, convergence, stopped_early, setup).
- `train_pack(members, *, steps, ...) -> [TrainResult | TrainingDiverged]`:
  K runs (`PackMember(model, dataset, seed, checkpoint_dir, learning_rate)`)
  trained in lockstep, their updates in one compiled step, each an ordinary
  run folder (`benchmark.training.pack`).
- `assess(steps, elbo, tolerance) -> Convergence`: the convergence criterion
  on a held-out ELBO curve (`benchmark.training.convergence`).
- `TrainingDiverged(step, reason)`: a RuntimeError with `.step` and `.reason`;
  the last good checkpoint stays in place.
- `restore(model, checkpoint_dir) -> int`: loads the latest weights (creating
  the variables first) and returns the update count.
- `load_model(checkpoint_dir) -> (model, step)`: rebuilds the model entry
  recorded in `run.json` and restores it.
- `benchmark.training.step.apply_update(model, x, step, seed, optimizers,
  guard=True) -> (terms, ok)`: one optimizer step (gradients of the model's
  losses, loss scaling under "mixed_float16", the NaN guard, the update).
"""

from benchmark.training.checkpoints import load_model, restore
from benchmark.training.convergence import Convergence, assess
from benchmark.training.loop import TrainingDiverged, TrainResult, train
from benchmark.training.pack import PackMember, train_pack

__all__ = [
    "Convergence",
    "PackMember",
    "TrainResult",
    "TrainingDiverged",
    "assess",
    "load_model",
    "restore",
    "train",
    "train_pack",
]
