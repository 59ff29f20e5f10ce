"""`train_pack`: K runs in one compiled step equal their solo runs, fail alone and resume."""

import json

import numpy as np
import pytest
from vae_cases import Squares, poisoned_stream, small_args

from benchmark.errors import UserInputError
from benchmark.models import build_model
from benchmark.tf_quiet import import_tensorflow
from benchmark.training import TrainingDiverged, load_model, restore, train
from benchmark.training.pack import PackMember, train_pack

tf = import_tensorflow()

SQUARES = Squares()
BATCH = tf.constant(SQUARES.sample(8, np.random.RandomState(0))[1])
# (seed, beta, learning rate) of each member: they differ in all three
MEMBERS = [(0, 1.0, 1e-3), (1, 4.0, 5e-4), (2, 8.0, 2e-3)]
# (entry, posterior) of each member of a mixed pack: objectives with extra terms (beta-TCVAE's
# minibatch estimator, FactorVAE's discriminator and its second optimizer) and all three families
MIXED = [("beta_vae", "diagonal"), ("factor_vae", "iaf"), ("beta_tcvae", "full_covariance")]
SCHEDULE = {"batch_size": 8, "checkpoint_every": 5, "log_every": 5, "progress": False}


def _model(beta: float, posterior: str = "diagonal", entry: str = "beta_vae"):
    """A small model; `beta` is FactorVAE's gamma (its KL weight is 1)."""
    weight = {"gamma": beta} if entry == "factor_vae" else {"beta": beta}
    return build_model(entry, (16, 16, 1), **small_args(entry, posterior, fc_width=16, **weight))


def _members(folder, datasets=None, kinds=None):
    kinds = kinds or [("beta_vae", "diagonal")] * len(MEMBERS)
    return [
        PackMember(
            _model(beta, posterior, entry),
            (datasets or {}).get(i, SQUARES),
            seed,
            folder / f"member{i}",
            learning_rate,
        )  # fmt: skip
        for i, ((seed, beta, learning_rate), (entry, posterior)) in enumerate(
            zip(MEMBERS, kinds, strict=True)
        )
    ]


def _solo(i, folder, steps, dataset=SQUARES, **settings):
    """Member i's solo run (its seed, beta and learning rate) trained to `steps` in `folder`."""
    seed, beta, learning_rate = MEMBERS[i]
    model = _model(beta, *settings.pop("kind", ("diagonal", "beta_vae")))
    result = train(
        model, dataset, steps=steps, seed=seed, learning_rate=learning_rate,
        checkpoint_dir=folder, **{**SCHEDULE, **settings},
    )  # fmt: skip
    return model, result


def _assert_same_weights(a, b):
    for x, y in zip(a.variables, b.variables, strict=True):
        np.testing.assert_allclose(x.numpy(), y.numpy(), rtol=1e-5, atol=1e-6)


def _log(folder):
    return [json.loads(line) for line in (folder / "train_log.jsonl").read_text().splitlines()]


@pytest.mark.parametrize(
    "kinds",
    [pytest.param(None, marks=pytest.mark.slow), MIXED],  # the mixed pack covers the first
    ids=["betas", "entries-and-families"],
)
def test_a_pack_of_three_equals_its_three_solo_runs(tmp_path, kinds):
    members = _members(tmp_path / "pack", kinds=kinds)
    results = train_pack(members, steps=10, **SCHEDULE)
    for i, (member, result) in enumerate(zip(members, results, strict=True)):
        entry, posterior = (kinds or [("beta_vae", "diagonal")] * 3)[i]
        solo, solo_result = _solo(i, tmp_path / f"solo{i}", 10, kind=(posterior, entry))
        # the same kernels on the same batches and noise: equal within float rounding
        _assert_same_weights(member.model, solo)
        assert (result.steps_done, result.stopped_early) == (10, False)
        assert [s for s, _ in result.heldout_curve] == [s for s, _ in solo_result.heldout_curve]
        for (_, packed), (_, alone) in zip(
            result.heldout_curve, solo_result.heldout_curve, strict=True
        ):
            assert packed == pytest.approx(alone, rel=1e-5)
        for name, value in solo_result.final_loss_terms.items():
            assert result.final_loss_terms[name] == pytest.approx(value, rel=1e-4, abs=1e-6)
        for packed, alone in zip(
            _log(member.checkpoint_dir), _log(tmp_path / f"solo{i}"), strict=True
        ):
            assert packed["step"] == alone["step"]
            assert packed["loss"] == pytest.approx(alone["loss"], rel=1e-5)
        stored = json.loads((member.checkpoint_dir / "run.json").read_text())
        assert stored == json.loads((tmp_path / f"solo{i}" / "run.json").read_text())
        loaded, step = load_model(member.checkpoint_dir)  # an ordinary run folder
        assert step == 10 and loaded.entry_config == member.model.entry_config


def test_a_member_that_diverges_stops_alone_and_the_others_finish(tmp_path):
    members = _members(tmp_path, datasets={1: poisoned_stream(BATCH, 6)})
    schedule = {**SCHEDULE, "checkpoint_every": 4, "log_every": 2}
    results = train_pack(members, steps=20, **schedule)
    error = results[1]
    assert isinstance(error, TrainingDiverged) and error.step == 7
    assert "reconstruction=nan" in error.reason
    assert all(np.all(np.isfinite(w.numpy())) for w in members[1].model.weights)
    assert restore(_model(4.0), tmp_path / "member1") == 4  # its last good checkpoint
    assert _log(tmp_path / "member1")[-1] == {"step": 7, "diverged": error.reason}
    for i in (0, 2):  # repacked without member 1, they trained on to the end
        assert results[i].steps_done == 20 and _log(tmp_path / f"member{i}")[-1]["step"] == 20
    # the survivors are their solo runs, although the pack lost a member at step 7
    for i in (0, 2):
        solo, _ = _solo(i, tmp_path / f"solo{i}", 20, **schedule)
        _assert_same_weights(members[i].model, solo)


def test_members_that_stop_early_leave_and_the_rest_train_on(tmp_path):
    members = _members(tmp_path)
    seed, _, learning_rate = MEMBERS[1]
    members[1] = PackMember(
        members[1].model, SQUARES, seed, tmp_path / "member1", learning_rate, heldout_size=0
    )
    schedule = {**SCHEDULE, "log_every": 1, "stop_when_converged": True,
                "convergence_tolerance": 1e6}  # fmt: skip
    results = train_pack(members, steps=20, **schedule)
    for i in (0, 2):  # any curve is flat within 1e6 nats: they stop at the earliest point
        assert results[i].stopped_early and results[i].steps_done < 20
        assert _log(tmp_path / f"member{i}")[-1]["step"] == results[i].steps_done
    assert results[1].steps_done == 20 and not results[1].stopped_early  # no curve, no stop
    solo, _ = _solo(1, tmp_path / "solo1", 20, heldout_size=0, **schedule)
    _assert_same_weights(members[1].model, solo)


def test_a_pack_resumes_from_its_members_checkpoints(tmp_path):
    uninterrupted = _members(tmp_path / "whole")
    train_pack(uninterrupted, steps=10, **SCHEDULE)
    train_pack(_members(tmp_path / "cut"), steps=5, **SCHEDULE)  # the process ends here
    resumed = _members(tmp_path / "cut")  # a new process: fresh models, the same folders
    results = train_pack(resumed, steps=10, **SCHEDULE)
    assert [r.resumed_from_step for r in results] == [5, 5, 5]
    for a, b in zip(resumed, uninterrupted, strict=True):
        for x, y in zip(a.model.variables, b.model.variables, strict=True):
            np.testing.assert_allclose(x.numpy(), y.numpy(), rtol=1e-5, atol=1e-6)


def test_members_at_different_counts_train_in_groups_and_a_finished_one_not_at_all(tmp_path):
    first = _members(tmp_path)
    seed, _, learning_rate = MEMBERS[0]
    train(first[0].model, SQUARES, steps=10, seed=seed, learning_rate=learning_rate,
          checkpoint_dir=first[0].checkpoint_dir, **SCHEDULE)  # fmt: skip
    seed, _, learning_rate = MEMBERS[1]
    train(first[1].model, SQUARES, steps=5, seed=seed, learning_rate=learning_rate,
          checkpoint_dir=first[1].checkpoint_dir, **SCHEDULE)  # fmt: skip
    results = train_pack(_members(tmp_path), steps=10, **SCHEDULE)
    assert [r.resumed_from_step for r in results] == [10, 5, 0]
    assert [r.steps_done for r in results] == [10, 10, 10]
    assert [r["step"] for r in _log(tmp_path / "member0")] == [5, 10]  # not trained again
    assert [r["step"] for r in _log(tmp_path / "member1")] == [5, 10]  # resumed at 5
    solo, _ = _solo(1, tmp_path / "solo1", 10)  # its uninterrupted solo run
    loaded, step = load_model(tmp_path / "member1")
    assert step == 10
    for x, y in zip(loaded.trainable_variables, solo.trainable_variables, strict=True):
        np.testing.assert_allclose(x.numpy(), y.numpy(), rtol=1e-5, atol=1e-6)


def test_bad_packs_are_refused_before_anything_trains(tmp_path):
    with pytest.raises(UserInputError, match="at least one member"):
        train_pack([], steps=5)
    twins = [PackMember(_model(1.0), SQUARES, s, tmp_path / "same") for s in (0, 1)]
    with pytest.raises(UserInputError, match="share a checkpoint_dir"):
        train_pack(twins, steps=5)
    assert not (tmp_path / "same").exists()
