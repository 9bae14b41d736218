"""Training a Keras network on sparse features: computed once, kept sparse, fed a batch at a time,
dropped out sparsely.

About 50 of the n-gram MLP's 13,000 TF-IDF features are non-zero in a review. Computing them inside
the model every epoch and multiplying them as a dense matrix made that candidate the slowest to
train; as a scipy CSR matrix (`ngram_mlp.ngram_tfidf`) fed to a Dense layer, the first layer's
work follows the non-zeros.

This module imports TensorFlow: import it inside the functions that train, never at the top of a
module the Dagster code location loads.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import keras
import numpy as np
import tensorflow as tf


class SparseDropout(keras.layers.Layer):
    """`keras.layers.Dropout` for a sparse input, which Dropout does not accept.

    Dropping an entry that is zero changes nothing, so dropping the stored values only, with the
    same 1 / (1 - rate) scaling, is the same regularisation as Dropout on the dense features.
    """

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rate = rate
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs: tf.SparseTensor, training: bool = False) -> tf.SparseTensor:
        if not training or self.rate == 0:
            return inputs
        keep = keras.random.uniform(tf.shape(inputs.values), seed=self.seed_generator) >= self.rate
        values = tf.where(keep, inputs.values / (1 - self.rate), tf.zeros_like(inputs.values))
        return tf.SparseTensor(inputs.indices, values, inputs.dense_shape)

    def compute_output_spec(self, inputs: Any, training: bool = False) -> keras.KerasTensor:
        return keras.KerasTensor(inputs.shape, dtype=inputs.dtype, sparse=True)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


def sparse_batches(
    x: Any, y: np.ndarray, *, batch_size: int, seed: int, shuffle: bool
) -> tf.data.Dataset:
    """Batches of a scipy sparse matrix and its labels as `SparseTensor`s, made one at a time.

    Given the matrix itself, Keras builds its `tf.data` pipeline from the whole input (the matrix
    as one tensor, repeated, sliced by a parallel map), and TensorFlow's side keeps most of what
    that pipeline allocated after the fit: about 60 MiB more per fit of the n-gram MLP on the real
    drops than from this generator (README, "Where the memory goes"). The rows are shuffled by a
    generator seeded with `seed`, a new order each epoch, so a fit is repeatable.
    """
    x = x.tocsr()
    labels = np.asarray(y, dtype=np.float32)
    rows = x.shape[0]
    if rows == 0 or len(labels) != rows:
        raise ValueError(f"{rows} rows and {len(labels)} labels: nothing to feed, or not one each")
    rng = np.random.default_rng(seed)

    def batches() -> Iterator[tuple[tf.SparseTensor, np.ndarray]]:
        order = rng.permutation(rows) if shuffle else np.arange(rows)
        for start in range(0, rows, batch_size):
            chosen = order[start : start + batch_size]
            batch = x[chosen].tocoo()
            indices = np.stack([batch.row, batch.col], axis=1).astype(np.int64)
            values = batch.data.astype(np.float32)
            yield tf.SparseTensor(indices, values, batch.shape), labels[chosen]

    spec = (
        tf.SparseTensorSpec([None, x.shape[1]], tf.float32),
        tf.TensorSpec([None], tf.float32),
    )
    dataset = tf.data.Dataset.from_generator(batches, output_signature=spec)
    # The number of batches told, so Keras knows an epoch's steps (and that the data ends there).
    steps = -(-rows // batch_size)
    return dataset.apply(tf.data.experimental.assert_cardinality(steps)).prefetch(2)
