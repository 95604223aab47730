"""genai_tf.models.dcgan: DiffAugment in the train step, the 28x28 networks."""

import re

import numpy as np
import pytest
import tensorflow as tf

import genai_tf
from genai_tf import augment
from genai_tf.models import DCGAN, build_dcgan_discriminator, build_dcgan_generator

IMAGES = np.random.default_rng(0).uniform(-1, 1, (8, 28, 28, 1)).astype("float32")


def _dcgan(diff_augment):
    genai_tf.set_seed(0)
    model = DCGAN(latent_dim=4, width=4, dropout=0.0, diff_augment=diff_augment)
    model.compile()
    return model


def test_dcgan_train_step_augments_the_real_and_the_fake_images(monkeypatch):
    calls = []
    original = augment.diff_augment

    def spy(images, policy, seed):
        calls.append((np.asarray(images).copy(), policy))
        return original(images, policy, seed)

    images = tf.constant(IMAGES)
    plain = _dcgan(None).train_step((images,))
    again = _dcgan(None).train_step((images,))
    monkeypatch.setattr(augment, "diff_augment", spy)
    augmented = _dcgan("translation,cutout").train_step((images,))
    # D sees the real and the fake batch, then G's fresh fake batch: three augmentations.
    assert [policy for _, policy in calls] == ["translation,cutout"] * 3
    np.testing.assert_array_equal(calls[0][0], IMAGES)
    for fake, _ in calls[1:]:
        assert fake.shape == IMAGES.shape and fake.min() >= -1 and fake.max() <= 1
        assert not np.allclose(fake, IMAGES)
    assert not np.array_equal(calls[1][0], calls[2][0])
    # Same weights, batch and seed: the losses repeat without augmentation and change with it.
    assert float(again["d_loss"]) == float(plain["d_loss"])
    assert abs(float(augmented["d_loss"]) - float(plain["d_loss"])) > 1e-4


@pytest.mark.parametrize("image_shape", [(32, 32, 1), (28, 27, 1), (28, 28)])
def test_the_convolutional_networks_are_built_for_28x28_images(image_shape):
    message = "The convolutional models are built for 28x28 images. Received: image_shape=" + str(tuple(image_shape))
    for build in (lambda: build_dcgan_generator(4, image_shape, 4), lambda: build_dcgan_discriminator(image_shape, 4)):
        with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
            build()
    assert build_dcgan_generator(4, (28, 28, 3), 4).output_shape == (None, 28, 28, 3)
    assert build_dcgan_discriminator((28, 28, 3), 4).output_shape == (None, 1)
