"""genai_tf.models.conditional_gan: labels checked, needed, and used by both networks."""

import numpy as np
import pytest
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
