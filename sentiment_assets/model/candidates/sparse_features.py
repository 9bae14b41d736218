"""Training a Keras network on sparse features: computed once, kept sparse, dropped out sparsely.

About 50 of the n-gram MLP's 13,000 TF-IDF features are non-zero in a review. Computing them inside
the model every epoch and multiplying them as a dense matrix made that candidate the slowest to
train; as a scipy CSR matrix (`ngram_mlp.ngram_tfidf`) fed to a Dense layer, the first layer's
work follows the non-zeros.

This module imports TensorFlow: import it inside the functions that train, never at the top of a
module the Dagster code location loads.
"""

from __future__ import annotations

from typing import Any

import keras
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
