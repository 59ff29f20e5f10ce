"""`disbench perf train --pack`: K models' updates in one compiled step, measured (never asserted fast)."""

import math

import pytest

from benchmark.data import get_dataset
from benchmark.perf.packing import format_pack_table, matmul_peak_gflops, measure_packs


def test_the_pack_rows_count_all_models_and_compare_with_one_model_without_xla():
    result = measure_packs(
        get_dataset("dsprites"), [1, 2], architecture="fc", fc_width=8, block=2, rounds=1,
        xla_settings=(False,),
    )  # fmt: skip
    assert set(result) == {"fc-8/pack-1/no-xla", "fc-8/pack-2/no-xla"}
    for key, row in result.items():
        assert row["members"] == (2.0 if "pack-2" in key else 1.0)
        assert row["images_per_second"] == pytest.approx(64 * row["model_steps_per_second"])
        assert row["gflop_per_second"] > 0 and 0 < row["share_of_peak"] < 1
    assert result["fc-8/pack-1/no-xla"]["speedup_vs_solo"] == pytest.approx(1.0)
    # two models' updates count twice the FLOPs of one per step of the pack
    one, two = result["fc-8/pack-1/no-xla"], result["fc-8/pack-2/no-xla"]
    per_step_one = one["gflop_per_second"] / one["model_steps_per_second"]
    per_step_two = two["gflop_per_second"] / two["model_steps_per_second"]
    assert per_step_two == pytest.approx(per_step_one)
    table = format_pack_table(result).splitlines()
    assert len(table) == 4 and table[1].split()[:3] == ["fc-8", "1", "no"]


def test_the_measured_peak_is_a_plausible_rate():
    peak = matmul_peak_gflops(size=256, repeats=4)
    assert math.isfinite(peak) and 0.1 < peak < 1e6
