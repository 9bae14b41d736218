import numpy as np
import pytest

# Keras and TensorFlow, imported by the tests themselves so that collecting them imports neither.
pytestmark = pytest.mark.slow


def _train(
    optimizer, start: np.ndarray, gradients: list
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`start` updated by `optimizer` with each gradient in turn, in a compiled function as Keras
    trains; the variable and its two moments."""
    import keras
    import tensorflow as tf

    variable = keras.Variable(start.copy())
    optimizer.build([variable])

    @tf.function
    def step(gradient):
        optimizer.apply([gradient], [variable])

    for gradient in gradients:
        step(gradient)
    return (
        variable.numpy(),
        optimizer._momentums[0].numpy(),
        optimizer._velocities[0].numpy(),
    )


def _gradients(sparse: bool) -> tuple[np.ndarray, list]:
    import tensorflow as tf

    rng = np.random.default_rng(0)
    start = rng.normal(size=(300, 8)).astype(np.float32)
    gradients = []
    for _ in range(6):
        if sparse:
            # An embedding's gradient: some rows, one of them twice, as a batch looks words up.
            rows = rng.choice(300, size=40, replace=False)
            rows[1] = rows[0]
            values = rng.normal(size=(40, 8)).astype(np.float32)
            gradients.append(
                tf.IndexedSlices(tf.constant(values), tf.constant(rows), tf.constant([300, 8]))
            )
        else:
            gradients.append(tf.constant(rng.normal(size=(300, 8)).astype(np.float32)))
    return start, gradients


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "embedding"])
def test_fused_adam_makes_keras_adams_updates(sparse):
    import keras
    import tensorflow as tf

    from sentiment_assets.model.candidates.fused_adam import FusedAdam

    start, gradients = _gradients(sparse)
    # An embedding's gradient is a row's occurrences summed: Keras 3's Adam is given that sum.
    dense = [tf.convert_to_tensor(g) for g in gradients]

    expected = _train(keras.optimizers.Adam(learning_rate=0.01), start, dense)
    fused = _train(FusedAdam(learning_rate=0.01), start, gradients)

    # The same update, to a few units in the last place of weights of about 1 (updates reach 0.06
    # here).
    np.testing.assert_allclose(fused[0], expected[0], rtol=0, atol=1e-6)
    # The moments: the kernel's 1 - beta is formed in float32 (1.3e-5 relative for beta_2).
    for got, want in zip(fused[1:], expected[1:], strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-7)
    assert (fused[0] != start).any()


def test_an_embedding_row_looked_up_twice_gets_adams_update_for_its_summed_gradient():
    """Keras 3.15's Adam squares each occurrence of a row before adding them up, so a word seen
    twice in a batch gets a second moment of 1 + 1 instead of (1 + 1)^2; TensorFlow's gradient
    for the row, and tf.keras's legacy Adam, sum the occurrences first."""
    import keras
    import tensorflow as tf

    from sentiment_assets.model.candidates.fused_adam import FusedAdam

    twice = tf.IndexedSlices(tf.constant([[1.0], [1.0]]), tf.constant([0, 0]), tf.constant([2, 1]))
    optimizer = FusedAdam()

    _train(optimizer, np.zeros((2, 1), dtype=np.float32), [twice])

    # (1 - beta_1) * 2 and (1 - beta_2) * 2^2; the row never looked up keeps zero moments.
    np.testing.assert_allclose(optimizer._momentums[0].numpy().ravel(), [0.2, 0], rtol=1e-4)
    np.testing.assert_allclose(optimizer._velocities[0].numpy().ravel(), [0.004, 0], rtol=1e-4)
    keras_adam = keras.optimizers.Adam()
    _train(keras_adam, np.zeros((2, 1), dtype=np.float32), [twice])
    assert keras_adam._velocities[0].numpy()[0, 0] == pytest.approx(0.002, rel=1e-4)


def test_fused_adam_refuses_amsgrad_rather_than_ignoring_it():
    from sentiment_assets.model.candidates.fused_adam import FusedAdam

    with pytest.raises(ValueError, match="AMSGrad"):
        FusedAdam(amsgrad=True)


def test_fused_adam_keeps_adams_settings_in_its_config():
    from sentiment_assets.model.candidates.fused_adam import FusedAdam

    config = FusedAdam(learning_rate=0.005, beta_2=0.99).get_config()

    assert (config["learning_rate"], config["beta_2"]) == (pytest.approx(0.005), 0.99)
    assert FusedAdam.from_config(config).beta_2 == 0.99
    # Positional, as keras.optimizers.Adam takes it.
    assert float(FusedAdam(0.02).learning_rate) == pytest.approx(0.02)
