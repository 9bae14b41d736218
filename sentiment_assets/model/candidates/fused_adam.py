"""Adam as TensorFlow's fused kernel, `ResourceApplyAdam`, instead of Keras 3's separate operations.

Keras 3 writes Adam's update as about 25 separate TensorFlow operations per variable and step,
12 of them over the whole variable. The seed's networks are small enough that running those
operations, not the arithmetic in them, is much of what each of their hundreds of steps per epoch
costs. `ResourceApplyAdam` is the same update (moments, bias-corrected step size, epsilon added to
the root of the second moment) as one kernel over the variable, plus a few scalar operations: the
kernel tf.keras's Adam (OptimizerV2, the default through TensorFlow 2.10) ran for dense gradients.
Two differences from Keras 3.15's Adam, both measured (`test_fused_adam.py`):

- the kernel forms 1 - beta in float32 from the rounded beta (1 - 0.999f is 0.00099998713, where
  Keras rounds 0.001), so each second-moment increment differs by about 1.3e-5 relative and the
  weights by a few units in the last place per step: a network trained with it follows a slightly
  different path from the same seed;
- an embedding's gradient comes as the rows each review looked up, a row once per occurrence.
  Keras 3 squares each occurrence before adding them into the second moment; here the occurrences
  are summed first (the dense value the gradient stands for), so the second moment is that of the
  word's gradient, as tf.keras's optimizers computed it (both the OptimizerV2 Adam and the one of
  TensorFlow 2.11-2.15 summed repeated rows first).

This module imports TensorFlow: import it inside the functions that train, never at the top of a
module the Dagster code location loads.
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="sentiment_assets")
class FusedAdam(keras.optimizers.Adam):
    """`keras.optimizers.Adam`'s update as TensorFlow's fused kernel (no AMSGrad)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.amsgrad:
            raise ValueError("FusedAdam has no AMSGrad: use keras.optimizers.Adam(amsgrad=True)")

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        dtype = variable.dtype
        if isinstance(gradient, tf.IndexedSlices):
            # An embedding's gradient: each row's occurrences summed (its dense value). Adam's
            # moments decay on every row, so the update is dense, as Keras's is.
            gradient = tf.convert_to_tensor(gradient)
        step = tf.cast(self.iterations + 1, dtype)
        beta_1 = tf.cast(self.beta_1, dtype)
        beta_2 = tf.cast(self.beta_2, dtype)
        index = self._get_variable_index(variable)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle,
            m=self._momentums[index].handle,
            v=self._velocities[index].handle,
            beta1_power=tf.pow(beta_1, step),
            beta2_power=tf.pow(beta_2, step),
            lr=tf.cast(learning_rate, dtype),
            beta1=beta_1,
            beta2=beta_2,
            epsilon=tf.cast(self.epsilon, dtype),
            grad=tf.cast(gradient, dtype),
        )
