"""genai_tf.models.conditional_gan: labels checked, needed, and used by both networks."""

import numpy as np
import pytest
import keras
import tensorflow as tf

import genai_tf
from genai_tf.models import ConditionalGAN
from genai_tf.models.conditional_gan import build_conditional_discriminator, build_conditional_generator

RNG = np.random.default_rng(0)
IMAGES = RNG.uniform(-1, 1, (8, 28, 28, 1)).astype("float32")


@pytest.mark.parametrize("labels", [np.full(8, 10), np.full(8, -1), np.arange(8) + 0.5])
def test_conditional_labels_out_of_range_are_a_clear_value_error(labels):
    model = ConditionalGAN(latent_dim=4, width=8)
    model.compile()
    with pytest.raises(ValueError, match=r"labels must be integers in \[0, 10\)"):
        model.fit(IMAGES, labels, batch_size=8, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"labels must be integers in \[0, 10\)"):
        model.generate(8, labels=labels)


@pytest.mark.parametrize(
    ("labels", "received"), [(np.full(8, 10), "[10, 10]"), (np.arange(8) - 1, "[-1, 6]"), (np.arange(8) + 0.5, "[0.5, 7.5]")]
)
def test_labels_out_of_range_in_a_dataset_are_a_value_error_before_any_update(labels, received):
    model = ConditionalGAN(latent_dim=4, width=8)
    model.compile()
    before = [np.asarray(v).copy() for v in model.trainable_variables] + [np.asarray(model.seed_generator.state).copy()]
    dataset = tf.data.Dataset.from_tensor_slices((IMAGES, labels)).batch(8)
    with pytest.raises(ValueError) as info:
        model.fit(dataset, epochs=1, verbose=0)
    assert str(info.value) == f"labels must be integers in [0, 10). Received: a batch with labels in {received}"
    # The check ran before the update: no weight, step counter or noise state changed.
    after = [np.asarray(v).copy() for v in model.trainable_variables] + [np.asarray(model.seed_generator.state).copy()]
    assert all(np.array_equal(b, a) for b, a in zip(before, after, strict=True))
    assert int(model.d_optimizer.iterations) == 0 and int(model.g_optimizer.iterations) == 0


def test_labels_in_range_in_a_dataset_train():
    model = ConditionalGAN(latent_dim=4, width=8)
    model.compile()
    dataset = tf.data.Dataset.from_tensor_slices((IMAGES, np.array([0, 9, 3, 3, 1, 2, 8, 0]))).batch(8)
    history = model.fit(dataset, epochs=1, verbose=0).history
    assert sorted(history) == ["d_loss", "g_loss"] and np.isfinite(history["d_loss"][0])
    assert int(model.d_optimizer.iterations) == 1


def test_conditional_model_needs_labels():
    model = ConditionalGAN(latent_dim=4, width=8)
    model.compile()
    with pytest.raises(ValueError, match="needs labels"):
        model.fit(IMAGES, batch_size=8, epochs=1, verbose=0)


def test_conditional_generator_uses_the_label():
    model = ConditionalGAN(latent_dim=4, width=8)
    zeros = model.generate(4, labels=np.zeros(4, "int32"), seed=1)
    ones = model.generate(4, labels=np.ones(4, "int32"), seed=1)
    np.testing.assert_array_equal(zeros, model.generate(4, labels=np.zeros(4, "int32"), seed=1))
    assert np.abs(zeros - ones).max() > 1e-3


def test_conditional_networks_use_the_label():
    # The same image (or noise) with each of the 10 labels: 10 different outputs.
    genai_tf.set_seed(0)
    discriminator = build_conditional_discriminator(10, width=4)
    image = np.repeat(IMAGES[:1], 10, axis=0)
    logits = np.asarray(discriminator([image, np.arange(10, dtype="int32")], training=False)).ravel()
    same = np.asarray(discriminator([image, np.full(10, 3, "int32")], training=False)).ravel()
    np.testing.assert_allclose(same, logits[3], rtol=1e-6)   # the control: one label, one logit
    assert np.min(np.diff(np.sort(logits))) > 1e-6, logits
    generator = build_conditional_generator(4, 10, width=4)
    noise = np.repeat(RNG.standard_normal((1, 4)).astype("float32"), 10, axis=0)
    images = np.asarray(generator([noise, np.arange(10, dtype="int32")], training=False)).reshape(10, -1)
    assert min(np.abs(images[i] - images[j]).max() for i in range(10) for j in range(i)) > 1e-4


def test_the_projection_term_is_the_label_vector_dotted_with_the_features():
    # D(x, y) = w . phi(x) + b + e_y . phi(x): with the label planes zeroed out of the first convolution
    # phi does not depend on y, so D(x, y1) - D(x, y2) = (e_y1 - e_y2) . phi(x), computed here by hand.
    genai_tf.set_seed(0)
    discriminator = build_conditional_discriminator(10, width=4)
    first = next(layer for layer in discriminator.layers if isinstance(layer, keras.layers.Conv2D))
    kernel, bias = first.get_weights()
    kernel[:, :, 1:, :] = 0.0                                   # input channel 0 is the image, 1-10 the planes
    first.set_weights([kernel, bias])
    features = keras.Model(discriminator.inputs, discriminator.get_layer("features").output)
    table = discriminator.get_layer("label_projection").get_weights()[0]   # (10, features)
    image = IMAGES[:2]
    labels_1, labels_2 = np.array([2, 7], "int32"), np.array([5, 5], "int32")
    phi = np.asarray(features([image, labels_1], training=False))
    np.testing.assert_allclose(phi, np.asarray(features([image, labels_2], training=False)), rtol=1e-6)
    by_hand = np.sum((table[labels_1] - table[labels_2]) * phi, axis=1)
    difference = np.ravel(discriminator([image, labels_1], training=False) - discriminator([image, labels_2]))
    np.testing.assert_allclose(difference, by_hand, rtol=1e-4, atol=1e-5)
    without = build_conditional_discriminator(10, width=4, projection=False)
    assert "label_projection" not in [layer.name for layer in without.layers]
