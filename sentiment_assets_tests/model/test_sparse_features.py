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


def _epoch(dataset) -> tuple[np.ndarray, np.ndarray]:
    """One pass over a dataset of sparse batches: its rows made dense, and its labels."""
    import tensorflow as tf

    rows, labels = [], []
    for x, y in dataset:
        rows.append(tf.sparse.to_dense(x).numpy())
        labels.append(y.numpy())
    return np.concatenate(rows), np.concatenate(labels)


def test_sparse_batches_feed_every_row_once_an_epoch_in_a_new_seeded_order():
    import scipy.sparse

    from sentiment_assets.model.candidates.sparse_features import sparse_batches

    dense = np.zeros((10, 6), dtype=np.float32)
    dense[np.arange(10), np.arange(10) % 6] = np.arange(1, 11)  # row i holds i + 1
    labels = np.arange(10) % 2
    x = scipy.sparse.csr_matrix(dense)

    dataset = sparse_batches(x, labels, batch_size=4, seed=7, shuffle=True)
    assert int(dataset.cardinality()) == 3  # Keras knows an epoch's length: 4 + 4 + 2 rows
    first, second = _epoch(dataset), _epoch(dataset)

    for rows, ys in (first, second):
        order = rows.sum(axis=1).astype(int) - 1  # which row each fed row is
        assert sorted(order) == list(range(10))
        np.testing.assert_array_equal(rows, dense[order])
        np.testing.assert_array_equal(ys, labels[order])
    assert not np.array_equal(first[0], second[0])
    again = sparse_batches(x, labels, batch_size=4, seed=7, shuffle=True)
    np.testing.assert_array_equal(_epoch(again)[0], first[0])


def test_sparse_batches_keep_the_order_unshuffled():
    import scipy.sparse

    from sentiment_assets.model.candidates.sparse_features import sparse_batches

    dense = np.eye(5, 3, dtype=np.float32) * 2
    labels = np.array([1, 0, 1, 1, 0])

    rows, ys = _epoch(
        sparse_batches(scipy.sparse.csr_matrix(dense), labels, batch_size=2, seed=0, shuffle=False)
    )

    np.testing.assert_array_equal(rows, dense)
    np.testing.assert_array_equal(ys, labels)


def test_sparse_batches_refuse_nothing_to_feed_or_labels_that_do_not_match():
    import scipy.sparse

    from sentiment_assets.model.candidates.sparse_features import sparse_batches

    with pytest.raises(ValueError, match="0 rows"):
        sparse_batches(
            scipy.sparse.csr_matrix((0, 3)), np.array([]), batch_size=2, seed=0, shuffle=True
        )
    with pytest.raises(ValueError, match="3 rows and 2 labels"):
        sparse_batches(
            scipy.sparse.eye(3, format="csr"), np.array([0, 1]), batch_size=2, seed=0, shuffle=True
        )
