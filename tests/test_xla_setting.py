"""`training.xla`: the task option, the trainer's setup record, resume, and the perf verdict."""

import json
from pathlib import Path

import pytest
from vae_cases import TINY_TASK, Squares, load_tiny_task

from benchmark import pipeline
from benchmark.config.runs import expand_task
from benchmark.errors import UserInputError
from benchmark.models import build_model
from benchmark.perf.train import format_table, xla_verdict
from benchmark.training import train

SQUARES = Squares()


@pytest.mark.parametrize(
    ("written", "read"),
    [("", "auto"), (", xla: auto", "auto"), (", xla: on", "on"), (", xla: off", "off"),
     (", xla: true", "on"), (", xla: false", "off"), (", xla: 'on'", "on")],
)  # fmt: skip
def test_the_task_option_reads_yaml_booleans_as_on_and_off(tmp_path, written, read):
    assert load_tiny_task(tmp_path, written).training.xla == read


@pytest.mark.parametrize("bad", ["maybe", "1", "[on]"])
def test_an_unknown_xla_setting_is_one_line_naming_the_field(tmp_path, bad):
    with pytest.raises(UserInputError) as error:
        load_tiny_task(tmp_path, f", xla: {bad}")
    message = str(error.value)
    assert "x.yaml: training.xla:" in message and "\n" not in message


def test_cli_validate_refuses_an_unknown_xla_setting_with_exit_2(tmp_path, capsys):
    from benchmark.cli.main import main

    path = tmp_path / "x.yaml"
    path.write_text(TINY_TASK % ", xla: fast")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "x.yaml: training.xla: unknown xla setting 'fast'" in err[0]
    assert "known: auto, on, off" in err[0]


def test_xla_is_how_a_run_is_computed_not_what_it_is(tmp_path):
    ids = {
        (spec.run_id, spec.training_id)
        for extra in ("", ", xla: on", ", xla: off")
        for spec in expand_task(load_tiny_task(tmp_path, extra))
    }
    assert len(ids) == 1


def test_the_pipeline_hands_the_task_setting_to_the_trainer(tmp_path, monkeypatch):
    seen = []

    class Stop(Exception):
        pass

    def fake_train(model, dataset, **kwargs):
        seen.append(kwargs["xla"])
        raise Stop

    monkeypatch.setattr(pipeline, "train", fake_train)
    for extra, expected in (("", None), (", xla: on", True), (", xla: off", False)):
        (spec,) = expand_task(load_tiny_task(tmp_path, extra))
        with pytest.raises(Stop):
            pipeline.execute_run(spec, tmp_path / spec.run_id, progress=False)
        assert seen[-1] is expected


def _train(directory: Path, steps: int, xla: bool | None, log_every: int = 5):
    model = build_model("beta_vae", (16, 16, 1), architecture="fc", fc_width=16, latent_dim=3)
    result = train(
        model, SQUARES, steps=steps, batch_size=8, learning_rate=1e-3, seed=2,
        checkpoint_dir=directory, checkpoint_every=5, log_every=log_every, progress=False,
        xla=xla,
    )  # fmt: skip
    return model, result


def _log(directory: Path) -> list[dict]:
    return [json.loads(line) for line in (directory / "train_log.jsonl").read_text().splitlines()]


def test_xla_on_a_cpu_computes_the_same_update_within_rounding(tmp_path):
    _, plain = _train(tmp_path / "plain", 10, None, log_every=1)
    _, compiled = _train(tmp_path / "xla", 10, True, log_every=1)
    assert plain.setup["xla"] is False and compiled.setup["xla"] is True
    assert json.loads((tmp_path / "xla" / "run.json").read_text())["setup"]["xla"] is True
    first_plain, first_compiled = _log(tmp_path / "plain")[0], _log(tmp_path / "xla")[0]
    # update 1 sees the same weights and batch: its closed-form KL agrees to rounding. The
    # noise differs (XLA's Philox generator orders its output differently from TF's kernel),
    # so terms that use a draw agree only in distribution.
    assert first_compiled["kl"] == pytest.approx(first_plain["kl"], rel=1e-4)
    assert first_compiled["loss"] == pytest.approx(first_plain["loss"], rel=1e-2)
    # 10 updates gain about 1.4 nats of held-out ELBO here; both settings gain the same
    assert compiled.heldout_curve[-1][1] == pytest.approx(plain.heldout_curve[-1][1], rel=2e-3)
    gained = compiled.heldout_curve[-1][1] - compiled.heldout_curve[0][1]
    assert gained > 0.5


def test_resume_under_another_xla_setting_is_refused(tmp_path):
    _train(tmp_path, 5, True)
    with pytest.raises(UserInputError, match=r"run.json: setup: .*xla True -> False"):
        _train(tmp_path, 10, False)
    assert _train(tmp_path, 10, True)[1].steps_done == 10


def test_a_bad_xla_value_is_a_user_error(tmp_path):
    with pytest.raises(UserInputError, match=r"^train: xla: expected True, False or None"):
        _train(tmp_path, 5, "on")  # type: ignore[arg-type]


def _row(rate: float) -> dict[str, float]:
    return {"steps_per_second": rate, "images_per_second": 64 * rate,
            "gflop_per_step": 1.0, "gflop_per_second": rate}  # fmt: skip


@pytest.mark.parametrize(("with_xla", "setting"), [(54.0, "on"), (30.0, "auto"), (16.9, "off")])
def test_the_perf_table_ends_with_the_xla_ratio_and_the_setting_it_suggests(with_xla, setting):
    result = {
        "fc-256/diagonal/64/float32/no-xla": _row(30.0),
        "fc-256/iaf/64/float32/no-xla": _row(28.0),
        "fc-256/diagonal/64/float32/xla": _row(with_xla),
    }
    verdict = xla_verdict(result)
    assert verdict is not None
    assert f"{with_xla / 30.0:.2f} times the steps/s without it" in verdict
    assert verdict.endswith(f"training.xla: {setting}")
    assert verdict in format_table(result).splitlines()
    del result["fc-256/diagonal/64/float32/xla"]
    assert xla_verdict(result) is None
