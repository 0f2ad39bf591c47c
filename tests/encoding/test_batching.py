"""One batch planner and padder for training and every runtime."""

from __future__ import annotations

import random

import numpy as np

from filterforge.encoding.batching import inference_batches, pad, training_batches


def test_pad_right_and_left_to_a_multiple():
    ids, mask = pad([[1, 2, 3], [4]], pad_id=0, multiple=4)
    assert ids.tolist() == [[1, 2, 3, 0], [4, 0, 0, 0]] and mask.tolist() == [[1, 1, 1, 0], [1, 0, 0, 0]]
    ids, mask = pad([[1, 2, 3], [4]], pad_id=9, multiple=4, side="left")
    assert ids.tolist() == [[9, 1, 2, 3], [9, 9, 9, 4]] and mask.tolist() == [[0, 1, 1, 1], [0, 0, 0, 1]]
    assert ids.dtype == np.int64


def test_inference_batches_go_longest_first_and_cap_padded_tokens():
    lengths = [10, 4000, 20, 3000, 30]
    batches = inference_batches(lengths, batch_size=16, max_tokens=8192)
    assert batches[0] == [1, 3] and sorted(i for b in batches for i in b) == list(range(5))
    assert all(len(b) * max(lengths[i] for i in b) <= 8192 for b in batches)
    assert inference_batches(lengths, batch_size=2, max_tokens=None) == [[1, 3], [4, 2], [0]]


def test_training_batches_are_deterministic_per_seed_and_cover_every_article():
    lengths = list(range(100, 0, -1))
    first = training_batches(lengths, 8, random.Random(3))
    assert first == training_batches(lengths, 8, random.Random(3))
    assert first != training_batches(lengths, 8, random.Random(4))
    assert sorted(i for b in first for i in b) == list(range(100))
