"""The comparison figures and tables take their axes from the task's leaderboard block.

A task that compares objectives across free bits (no posterior, no beta) gets its
rate-distortion series, correlation-against-MIG points, decomposition rows,
diagnostics cells and model sizes by `objective` and `free_bits`; a run without a
value of both (an autoencoder) stays out of the series and gets its own cell.
"""

from benchmark.leaderboard.axes import compared_field, layout, x_and_series
from benchmark.leaderboard.diagnostics import _cell
from benchmark.leaderboard.figures import correlation_vs_mig_rows
from benchmark.leaderboard.markdown import _parameters_line
from benchmark.leaderboard.rate_distortion import decomposition_table, rate_distortion_rows
from benchmark.leaderboard.results import RunRow, TaskResults

CONFIG = {"leaderboard": {"rows": ["entry", "objective", "free_bits"], "plot_against": "free_bits"}}


def _run(position, entry, args, scores):
    return RunRow(
        run_id=f"r{position}", status="done", label=entry, entry=entry, dataset="dsprites",
        seed=position % 2, position=position, model_args=args, sweep=args, scores=scores,
    )  # fmt: skip


def _results() -> TaskResults:
    scores = {"rate_nats": 10.0, "reconstruction_nll_nats": 40.0, "mig": 0.2,
              "posterior_mean_abs_correlation": 0.1, "decomposition_sum_nats": 10.0,
              "decomposition_rate_nats": 10.0, "parameters/encoder": 100}  # fmt: skip
    runs = [
        _run(
            i,
            "my_vae",
            {"objective": objective, "free_bits": bits, "posterior": "diagonal"},
            {**scores, "rate_nats": 10.0 + i},
        )  # fmt: skip
        for i, (objective, bits) in enumerate(
            [("elbo", 0.5), ("elbo", 0.5), ("tc", 0.5), ("tc", 2.0)]
        )
    ]
    runs.append(_run(9, "autoencoder", {}, {"parameters/encoder": 90}))
    return TaskResults("t", CONFIG, tuple(runs))


def test_the_axes_are_the_tasks():
    results = _results()
    assert layout(results)[0] == ("entry", "objective", "free_bits")
    assert compared_field(results) == "objective"  # not `posterior`, which every VAE run has
    assert x_and_series(results, results.runs[2]) == (0.5, "tc")
    assert x_and_series(results, results.runs[-1]) is None
    no_rows = TaskResults("t", {"leaderboard": {"rows": ["entry", "beta"]}}, ())
    assert compared_field(no_rows) == "entry"
    # `sweep` holds the x value as well (dlib_reproduction's rows: [entry, sweep]).
    swept = TaskResults("t", {"leaderboard": {"rows": ["entry", "sweep"]}}, ())
    assert compared_field(swept) == "entry"


def test_figures_and_tables_group_by_the_tasks_fields():
    results = _results()
    rows = rate_distortion_rows(results)
    assert [(r["objective"], r["free_bits"], r["rate"]) for r in rows] == [
        ("elbo", 0.5, 10.0), ("elbo", 0.5, 11.0), ("tc", 0.5, 12.0), ("tc", 2.0, 13.0),
    ]  # fmt: skip
    assert "posterior" not in rows[0] and "beta" not in rows[0]
    points = correlation_vs_mig_rows(results)
    assert len(points) == 4 and {p["objective"] for p in points} == {"elbo", "tc"}

    table = decomposition_table(results)
    header = next(line for line in table if line.startswith("| entry"))
    assert header.startswith("| entry | objective | free_bits | n | rate |")
    body = [line for line in table if line.startswith(("| my_vae", "| autoencoder"))]
    assert [line.split(" | ")[:4] for line in body] == [
        ["| my_vae", "elbo", "0.5", "2"], ["| my_vae", "tc", "0.5", "1"],
        ["| my_vae", "tc", "2", "1"], ["| autoencoder", "–", "–", "1"],
    ]  # fmt: skip

    fields = layout(results)[0]
    assert _cell(results, results.runs[3], fields) == ("tc_free_bits2", "tc, free_bits 2")
    assert _cell(results, results.runs[-1], fields) == ("autoencoder", "autoencoder")
    sizes = _parameters_line(results)
    # Model sizes follow the posterior family (an autoencoder has none: its entry).
    assert sizes == "diagonal: encoder trunk 100; autoencoder: encoder trunk 90"
