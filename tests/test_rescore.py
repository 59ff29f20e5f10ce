"""Re-scoring without retraining: training ids, shared checkpoint folders, the schema migration."""

from __future__ import annotations

import dataclasses
import shutil
import sqlite3
import threading
from pathlib import Path

import fake_pipeline
import pytest

from benchmark.config import expand_task
from benchmark.config.runs import run_id_of
from benchmark.runner import LocalExecutor, run_task
from benchmark.runner.trainings import (
    TRAININGS_FOLDER,
    checkpoint_step,
    fill_training_ids,
    has_checkpoint,
    plan_trainings,
)
from benchmark.store import SCHEMA_VERSION, ResultStore
from benchmark.training.lock import training_lock

GOLDEN = Path(__file__).resolve().parent / "golden"


def with_settings(task, **settings):
    """The task with other evaluation settings (same trainings)."""
    evaluation = dataclasses.replace(task.evaluation, settings=settings)
    return dataclasses.replace(task, evaluation=evaluation)


def run(tmp_path: Path, task, pipeline=fake_pipeline.trains_once, db="r.sqlite"):
    with ResultStore(tmp_path / db) as store:
        summary = run_task(
            task,
            store,
            LocalExecutor(pipeline, progress=False),
            runs_dir=tmp_path / "runs",
            progress=False,
        )
        records = store.runs(task.name)
        scores = store.scores([r.run_id for r in records])
    return summary, records, scores


def events(log: Path, kind: str) -> list[str]:
    return [run_id for event, run_id in fake_pipeline.read_log(log) if event == kind]


def test_training_id_hashes_the_training_part_only():
    (spec,) = expand_task(fake_pipeline.tiny_task(seeds=(0,), betas=(1,)))
    assert spec.identity() == {**spec.training_identity(), "evaluation": spec.evaluation_identity()}
    assert spec.run_id == run_id_of(spec.identity())
    assert spec.training_id == run_id_of(spec.training_identity()) != spec.run_id
    rescored = dataclasses.replace(
        spec, evaluation=dataclasses.replace(spec.evaluation, metrics=("mig", "dci"))
    )
    assert rescored.training_id == spec.training_id
    assert run_id_of(rescored.identity()) != spec.run_id
    longer = dataclasses.replace(spec, training=dataclasses.replace(spec.training, steps=11))
    other_seed = dataclasses.replace(spec, seed=1)
    other_family = dataclasses.replace(spec, model_args={**spec.model_args, "posterior": "iaf"})
    assert len({s.training_id for s in (spec, longer, other_seed, other_family)}) == 4


def test_changing_a_metric_setting_rescores_without_training(tmp_path, log):
    task = with_settings(fake_pipeline.tiny_task(), num_train=100)
    first, records, scores = run(tmp_path, task)
    assert (first.to_train, first.to_rescore, first.done) == (4, 0, 4)
    assert sorted(events(log, "train")) == sorted(r.run_id for r in records)
    trainings = {r.run_id: r.training_id for r in records}
    assert all(trainings.values())
    for record in records:
        assert has_checkpoint(tmp_path / "runs" / TRAININGS_FOLDER / record.training_id)

    changed = with_settings(task, num_train=200)
    second, new_records, new_scores = run(tmp_path, changed)
    assert (second.to_train, second.to_rescore, second.done, second.exit_code) == (0, 4, 4, 0)
    assert len(events(log, "train")) == 4  # nothing trained again
    assert sorted(events(log, "rescore")) == sorted(r.run_id for r in new_records)
    assert not {r.run_id for r in new_records} & set(trainings)  # new runs, new ids
    assert {r.training_id for r in new_records} == set(trainings.values())
    for record in new_records:
        assert record.status == "done" and record.durations["train_steps"] == 0
        old = next(r for r in records if r.training_id == record.training_id)
        assert new_scores[record.run_id]["mig"] == pytest.approx(scores[old.run_id]["mig"] + 0.01)
    with ResultStore(tmp_path / "r.sqlite") as store:  # the first results are kept as they were
        assert store.scores(list(trainings)) == scores


def test_a_missing_checkpoint_trains_again(tmp_path, log):
    task = with_settings(fake_pipeline.tiny_task(seeds=(0,)), num_train=100)
    _, records, _ = run(tmp_path, task)
    shutil.rmtree(tmp_path / "runs" / TRAININGS_FOLDER / records[0].training_id)
    summary, new_records, _ = run(tmp_path, with_settings(task, num_train=300))
    assert (summary.to_train, summary.to_rescore) == (1, 1)
    assert events(log, "train")[-1] == new_records[0].run_id
    assert events(log, "rescore") == [new_records[1].run_id]


def test_disbench_run_says_how_many_it_trains_and_rescores(tmp_path, monkeypatch, log, capsys):
    from benchmark.cli.main import main

    monkeypatch.chdir(tmp_path)
    task_file = tmp_path / "t.yaml"
    text = (
        "name: t\ndataset: {name: toy}\nmodels: [{entry: beta_vae, args: {architecture: fc}}]\n"
        "sweep: {beta: [1, 8]}\nseeds: [0]\ntraining: {steps: 10}\n"
        "evaluation: {metrics: [mig], latent_scores: false, settings: {num_train: NUM}}\n"
    )
    command = ["run", "t.yaml", "--db", "r.sqlite", "--no-progress"]
    command += ["--pipeline", "fake_pipeline:trains_once"]
    task_file.write_text(text.replace("NUM", "100"))
    assert main(command) == 0
    assert "2 to run: 2 to train, 0 only re-scored from a finished training" in (
        capsys.readouterr().out
    )
    task_file.write_text(text.replace("NUM", "200"))
    assert main(command) == 0
    assert "2 to run: 0 to train, 2 only re-scored from a finished training" in (
        capsys.readouterr().out
    )
    assert main(command) == 0  # nothing left to do
    assert "0 to run)" in capsys.readouterr().out


def test_runs_sharing_a_training_share_its_folder_and_train_it_once(tmp_path):
    one = with_settings(fake_pipeline.tiny_task("one", seeds=(0,), betas=(1,)), num_train=1)
    two = with_settings(fake_pipeline.tiny_task("two", seeds=(0,), betas=(1, 8)), num_train=2)
    specs = [*expand_task(one), *expand_task(two)]
    with ResultStore(tmp_path / "r.sqlite") as store:
        plan = plan_trainings(specs, store, tmp_path / "runs")
    shared, beta_8 = specs[0].training_id, specs[2].training_id
    assert specs[1].training_id == shared
    assert plan.training_dirs[specs[0].run_id] == plan.training_dirs[specs[1].run_id]
    assert plan.training_dirs[specs[0].run_id] == tmp_path / "runs" / TRAININGS_FOLDER / shared
    assert plan.training_dirs[specs[2].run_id].name == beta_8
    # One training per training id first; the run that re-scores it last.
    assert plan.order == (specs[0].run_id, specs[2].run_id, specs[1].run_id)
    assert (plan.to_train, plan.to_rescore) == (2, 1)


def test_trainings_already_under_way_are_finished_first(tmp_path):
    task = fake_pipeline.tiny_task("mix", seeds=(0,), betas=(1, 4), posteriors=("diagonal", "iaf"))
    specs = expand_task(task)
    names = {s.run_id: f"{s.model_args['posterior']}-{s.model_args['beta']}" for s in specs}
    with ResultStore(tmp_path / "r.sqlite") as store:
        plan = plan_trainings(specs, store, tmp_path / "runs")
        assert [names[r] for r in plan.order] == ["diagonal-1", "iaf-1", "diagonal-4", "iaf-4"]
        for name, step in (("diagonal-4", 6), ("iaf-4", 8)):  # under way: step 6 and 8 of 10
            folder = plan.training_dirs[next(r for r in plan.order if names[r] == name)]
            folder.mkdir(parents=True)
            (folder / "checkpoint").write_text(
                f'model_checkpoint_path: "ckpt-{step}"\nall_model_checkpoint_paths: "ckpt-{step}"\n'
            )
            assert checkpoint_step(folder) == step
        plan = plan_trainings(specs, store, tmp_path / "runs")
    assert [names[r] for r in plan.order] == ["iaf-4", "diagonal-4", "diagonal-1", "iaf-1"]


def test_a_database_from_before_training_ids_loads_and_rescores_from_old_folders(tmp_path, log):
    db = tmp_path / "r.sqlite"
    shutil.copy(GOLDEN / "results_schema_v1.sqlite", db)  # written by disbench before this change
    conn = sqlite3.connect(db)
    before = conn.execute("SELECT run_id, key, value, json FROM scores ORDER BY 1, 2").fetchall()
    conn.close()
    task = fake_pipeline.tiny_task("tiny_v1", seeds=(0,), betas=(1, 8))
    specs = expand_task(task)
    with ResultStore(db) as store:
        records = store.runs("tiny_v1")
        assert [r.run_id for r in records] == [s.run_id for s in specs]  # ids unchanged
        assert [r.training_id for r in records] == [None, None]
        assert fill_training_ids(store) == 2
        assert [r.training_id for r in store.runs("tiny_v1")] == [s.training_id for s in specs]
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    after = conn.execute("SELECT run_id, key, value, json FROM scores ORDER BY 1, 2").fetchall()
    conn.close()
    assert after == before

    # The old layout kept checkpoints in runs/<run_id>/checkpoints: they are read in place.
    old_folder = tmp_path / "runs" / specs[0].run_id / "checkpoints"
    old_folder.mkdir(parents=True)
    (old_folder / "checkpoint").write_text(f"final {specs[0].training_id}")
    summary, new_records, _ = run(tmp_path, with_settings(task, num_train=50))
    assert (summary.to_train, summary.to_rescore) == (1, 1)
    assert events(log, "rescore") == [new_records[0].run_id]
    assert events(log, "train") == [new_records[1].run_id]
    assert not (tmp_path / "runs" / TRAININGS_FOLDER / specs[0].training_id).exists()


def test_a_stored_spec_that_no_longer_parses_keeps_a_null_training_id(tmp_path):
    db = tmp_path / "r.sqlite"
    shutil.copy(GOLDEN / "results_schema_v1.sqlite", db)
    conn = sqlite3.connect(db)
    conn.execute("UPDATE runs SET spec = '{\"task\": \"old\"}' WHERE seed = 0 AND args LIKE '%8%'")
    conn.commit()
    conn.close()
    with ResultStore(db) as store:
        assert fill_training_ids(store) == 1
        ids = {r.args["beta"]: r.training_id for r in store.runs("tiny_v1")}
    assert ids[8] is None and ids[1] is not None


def test_a_second_process_waits_for_the_training_lock(tmp_path):
    entered = threading.Event()

    def second() -> None:
        with training_lock(tmp_path / "t"):
            entered.set()

    with training_lock(tmp_path / "t"):
        thread = threading.Thread(target=second)
        thread.start()
        assert not entered.wait(0.3)  # held: the second holder waits
    assert entered.wait(10)
    thread.join()


def stops_when_converged(task, steps: int):
    training = dataclasses.replace(task.training, steps=steps, stop_when_converged=True)
    return dataclasses.replace(task, training=training)


def test_a_raised_step_cap_reuses_early_stopped_runs_and_continues_capped_ones(
    tmp_path, log, capsys
):
    pipeline = fake_pipeline.converges_at_beta_1
    task = stops_when_converged(fake_pipeline.tiny_task(seeds=(0,)), steps=10)
    _, records, scores = run(tmp_path, task, pipeline)
    assert sorted(events(log, "train")) == sorted(r.run_id for r in records)
    old = {r.args["beta"]: r for r in records}
    assert scores[old[1].run_id]["train/steps_trained"] == 6  # stopped early
    assert scores[old[8].run_id]["train/steps_trained"] == 10  # reached the cap

    summary, new_records, new_scores = run(tmp_path, stops_when_converged(task, steps=20), pipeline)
    new = {r.args["beta"]: r for r in new_records}
    assert not {r.run_id for r in new_records} & {r.run_id for r in records}
    # beta 1 converged at step 6 under the cap of 10: the same run, its result copied
    assert new[1].status == "done" and new[1].durations["lower_cap_steps"] == 10
    assert new_scores[new[1].run_id] == scores[old[1].run_id]
    with ResultStore(tmp_path / "r.sqlite") as store:
        assert store.artifact(new[1].run_id, "note") == store.artifact(old[1].run_id, "note")
    # beta 8 reached the cap: it continues from step 10 in its own folder
    assert events(log, "continue") == [new[8].run_id]
    assert new_scores[new[8].run_id]["train/steps_trained"] == 20
    assert new[8].durations["train_steps"] == 10
    assert len(events(log, "train")) == 2  # nothing trained from step 0 again
    assert (summary.to_train, summary.done) == (1, 2)
    assert (
        "1 runs take the result of the same run under a lower step cap" in capsys.readouterr().out
    )
    # the lower cap's folder is kept as it was
    folder = tmp_path / "runs" / TRAININGS_FOLDER / old[8].training_id
    assert (folder / "checkpoint").read_text() == "step 10"


def test_lower_caps_need_the_same_configuration_and_a_lower_cap(tmp_path, log):
    from benchmark.runner.step_caps import cap_free_key, find_lower_caps

    pipeline = fake_pipeline.converges_at_beta_1
    task = stops_when_converged(fake_pipeline.tiny_task(seeds=(0,), betas=(1,)), steps=10)
    run(tmp_path, task, pipeline)
    (spec,) = expand_task(task)
    (higher,) = expand_task(stops_when_converged(task, steps=30))
    (lower,) = expand_task(stops_when_converged(task, steps=5))
    (other,) = expand_task(with_settings(stops_when_converged(task, steps=30), num_train=7))
    assert cap_free_key(spec) == cap_free_key(higher) != cap_free_key(other)
    with ResultStore(tmp_path / "r.sqlite") as store:
        found = find_lower_caps([higher, lower, other], store)
        assert set(found) == {higher.run_id}  # not a lower cap, not other evaluation settings
        assert found[higher.run_id].finished == (spec.run_id, 10)  # it stopped early at 6
        plain = dataclasses.replace(
            higher, training=dataclasses.replace(higher.training, stop_when_converged=False)
        )
        assert find_lower_caps([plain], store) == {}  # a fixed-length run is another run
        # a run that is not pending (e.g. claimed by another process) is not overwritten
        assert not store.copy_done_run(spec.run_id, spec.run_id, {})


def test_a_raised_cap_continues_from_an_interrupted_lower_cap_run(tmp_path, log):
    task = stops_when_converged(fake_pipeline.tiny_task(seeds=(0,), betas=(8,)), steps=10)
    (spec,) = expand_task(task)
    with ResultStore(tmp_path / "r.sqlite") as store:  # registered, then interrupted at step 4
        store.register_task(task.name, task.to_dict(), [spec])
    folder = tmp_path / "runs" / TRAININGS_FOLDER / spec.training_id
    folder.mkdir(parents=True)
    (folder / "checkpoint").write_text("step 4")
    _, records, scores = run(
        tmp_path, stops_when_converged(task, steps=20), fake_pipeline.converges_at_beta_1
    )
    (record,) = records
    assert events(log, "continue") == [record.run_id] and not events(log, "train")
    assert (
        record.durations["train_steps"] == 16 and scores[record.run_id]["train/steps_trained"] == 20
    )
    assert (folder / "checkpoint").read_text() == "step 4"  # the lower cap's folder is untouched


def _run_with(tmp_path, task, pipeline, **options):
    with ResultStore(tmp_path / "r.sqlite") as store:
        summary = run_task(task, store, LocalExecutor(pipeline, progress=False),
                           runs_dir=tmp_path / "runs", progress=False, **options)  # fmt: skip
        records = {r.run_id: r for r in store.runs(task.name)}
        scores = store.scores(list(records))
    return summary, records, scores


def test_rescore_scores_done_runs_again_from_their_trainings_and_keeps_what_it_cannot(
    tmp_path, log
):
    """`--rescore`: every done run is evaluated again from its finished training (nothing
    trains, run ids kept, new scores replace the old); a run whose checkpoint is gone keeps
    its result; a re-score that fails keeps the earlier scores and the run stays done."""
    task = fake_pipeline.tiny_task(seeds=(0,))  # beta 1 and 8: two runs
    _, records, before = _run_with(tmp_path, task, fake_pipeline.trains_once)
    first, second = sorted(records)
    assert all(r.status == "done" for r in records.values())

    # Without --rescore a finished task runs nothing.
    summary, _, same = _run_with(tmp_path, task, fake_pipeline.rescores_differently)
    assert summary.ran == 0 and same == before

    # One run's training folder is gone: only the other is scored again, without training.
    gone = records[second].training_id
    shutil.rmtree(tmp_path / "runs" / TRAININGS_FOLDER / gone)
    log.write_text("")
    summary, records, after = _run_with(
        tmp_path, task, fake_pipeline.rescores_differently, rescore=True
    )
    assert summary.to_rescore == 1 and summary.to_train == 0 and summary.exit_code == 0
    assert events(log, "rescore") == [first] and events(log, "train") == []
    assert after[first]["mig"] == pytest.approx(before[first]["mig"] + 1.0)
    assert after[second] == before[second]  # its checkpoint is gone: its result stands
    assert sorted(records) == [first, second]  # same run ids
    assert all(r.status == "done" for r in records.values())

    # A re-score that fails keeps the earlier scores, and says so in the exit code.
    summary, records, kept = _run_with(tmp_path, task, fake_pipeline.rescore_fails, rescore=True)
    assert [run_id for run_id, _ in summary.rescore_failed] == [first]
    assert "evaluation broke" in summary.rescore_failed[0][1]
    assert summary.exit_code == 1 and summary.failed == []
    assert records[first].status == "done" and kept == after
