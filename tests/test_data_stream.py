"""`make_batches`: the seeded, infinite tf.data stream the trainer reads."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.data import get_dataset, stream


def _take(dataset, n: int) -> list[np.ndarray]:
    return [batch.numpy() for batch in dataset.take(n)]


def test_dsprites_batches_are_float32_images():
    data = get_dataset("dsprites")
    batches = _take(stream.make_batches(data, 16, seed=0), 3)
    for batch in batches:
        assert batch.shape == (16, 64, 64, 1) and batch.dtype == np.float32
        assert set(np.unique(batch)) <= {0.0, 1.0}
    assert not np.array_equal(batches[0], batches[1])  # fresh draws every batch
    spec = stream.make_batches(data, 16, seed=0).element_spec
    assert tuple(spec.shape) == (16, 64, 64, 1)


def test_stream_is_deterministic_for_a_seed_and_differs_between_seeds():
    data = get_dataset("toy")
    a = _take(stream.make_batches(data, 8, seed=3), 4)
    b = _take(stream.make_batches(data, 8, seed=3), 4)
    c = _take(stream.make_batches(data, 8, seed=4), 4)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0])
    assert a[0].shape == (8, 12) and a[0].dtype == np.float32


def test_batch_i_is_drawn_from_its_own_random_state():
    data = get_dataset("toy")
    batches = _take(stream.make_batches(data, 5, seed=11), 3)
    for i, batch in enumerate(batches):
        rs = np.random.RandomState([11, i, 0])
        _, expected = data.sample(5, rs)
        np.testing.assert_array_equal(batch, expected.astype(np.float32))


def test_start_resumes_at_that_batch():
    data = get_dataset("correlated_dsprites")
    full = _take(stream.make_batches(data, 4, seed=2), 4)
    resumed = _take(stream.make_batches(data, 4, seed=2, start=2), 2)
    np.testing.assert_array_equal(resumed[0], full[2])
    np.testing.assert_array_equal(resumed[1], full[3])


def test_stream_is_infinite():
    data = get_dataset("toy")
    assert stream.make_batches(data, 2, seed=0).cardinality().numpy() < 0  # INFINITE


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"batch_size": 0, "seed": 0}, "batch_size must be an integer >= 1"),
        ({"batch_size": 2.5, "seed": 0}, "batch_size must be an integer >= 1"),
        ({"batch_size": 4, "seed": -1}, "seed must be an integer >= 0"),
        ({"batch_size": 4, "seed": 2**32}, "seed must be below 2\\*\\*32"),
        ({"batch_size": 4, "seed": 0, "start": -3}, "start must be an integer >= 0"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        stream.make_batches(get_dataset("toy"), **kwargs)
