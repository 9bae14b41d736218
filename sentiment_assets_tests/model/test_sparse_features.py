import numpy as np
import pytest

# Keras and TensorFlow, imported by the tests themselves so that collecting them imports neither.
pytestmark = pytest.mark.slow


def _sparse(dense: np.ndarray):
    import tensorflow as tf

    return tf.sparse.from_dense(tf.constant(dense, dtype=tf.float32))


def test_sparse_dropout_does_nothing_at_inference():
    import keras

    from sentiment_assets.model.candidates.sparse_features import SparseDropout

    dense = np.array([[0, 1.5, 0, 2], [3, 0, 0, 0]])

    out = SparseDropout(0.5)(_sparse(dense), training=False)

    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(keras.ops.convert_to_tensor(out)), dense
    )


def test_sparse_dropout_drops_and_rescales_like_dropout():
    import tensorflow as tf

    from sentiment_assets.model.candidates.sparse_features import SparseDropout

    dense = np.ones((200, 100), dtype=np.float32)
    dense[:, ::2] = 0  # half the entries are zero, as most TF-IDF features are

    out = tf.sparse.to_dense(SparseDropout(0.25, seed=1)(_sparse(dense), training=True)).numpy()

    np.testing.assert_allclose(np.unique(out), [0, 1 / 0.75], rtol=1e-6)
    assert not out[:, ::2].any()  # a zero stays zero
    kept = (out[:, 1::2] > 0).mean()
    assert kept == pytest.approx(0.75, abs=0.02)
