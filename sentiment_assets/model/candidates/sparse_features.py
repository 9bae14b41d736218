"""Training a Keras network on sparse features: computed once, kept sparse, dropped out sparsely.

About 50 of the n-gram MLP's 13,000 TF-IDF features are non-zero in a review. Computing them inside
the model every epoch and multiplying them as a dense matrix made that candidate the slowest to
train; as a scipy CSR matrix fed to a Dense layer, the first layer's work follows the non-zeros.

This module imports TensorFlow: import it inside the functions that train, never at the top of a
module the Dagster code location loads.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
import scipy.sparse
import tensorflow as tf

# Rows per call: a batch's dense TF-IDF (rows x 13,000 float32) is what this costs in memory, and
# TensorFlow keeps what it allocated; at 2,048 rows the n-gram MLP's features took 0.58 GiB of
# resident memory, at 256 0.07 GiB (measured on the real drops).
BATCH = 256


def sparse_outputs(model: keras.Model, inputs: Sequence[np.ndarray]) -> scipy.sparse.csr_matrix:
    """The model's (mostly zero) outputs for every row, a batch at a time so that the dense
    intermediate stays small."""
    parts = []
    for start in range(0, len(inputs[0]), BATCH):
        batch = [x[start : start + BATCH] for x in inputs]
        # Called eagerly (predict would trace a function per batch shape) and made sparse by
        # TensorFlow: converting the dense batch to scipy in numpy costs three times as much.
        out = tf.sparse.from_dense(model(batch if len(batch) > 1 else batch[0], training=False))
        rows, columns = out.indices.numpy().T
        shape = tuple(out.dense_shape.numpy())
        parts.append(scipy.sparse.csr_matrix((out.values.numpy(), (rows, columns)), shape=shape))
    if not parts:
        return scipy.sparse.csr_matrix((0, model.output.shape[-1]), dtype=np.float32)
    return scipy.sparse.vstack(parts).tocsr()


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
