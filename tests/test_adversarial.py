"""Tests of genai_tf.adversarial: FGSM, PGD, robust accuracy and adversarial training."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from genai_tf import adversarial


def linear_classifier(seed=0, pixels=16, classes=3):
    """logits = x W: the input gradient of the cross-entropy is W (softmax - onehot), known in closed form."""
    model = keras.Sequential([keras.Input((pixels,)), keras.layers.Dense(classes, use_bias=False)])
    model.layers[0].kernel.assign(np.random.default_rng(seed).normal(size=(pixels, classes)).astype("float32"))
    return model


def hand_gradient(model, x, y):
    weights = model.layers[0].kernel.numpy()
    logits = x @ weights
    probabilities = np.exp(logits - logits.max(1, keepdims=True))
    probabilities /= probabilities.sum(1, keepdims=True)
    return (probabilities - np.eye(weights.shape[1])[y]) @ weights.T


@pytest.fixture
def batch():
    rng = np.random.default_rng(1)
    return rng.uniform(-0.5, 0.5, (8, 16)).astype("float32"), rng.integers(0, 3, 8)


def test_fgsm_is_a_signed_gradient_step_of_max_norm_epsilon(batch):
    x, y = batch
    model = linear_classifier()
    adv = adversarial.fgsm(model, x, y, epsilon=0.1).numpy()
    np.testing.assert_allclose(adv, x + 0.1 * np.sign(hand_gradient(model, x, y)), atol=1e-6)
    assert np.max(np.abs(adv - x)) == pytest.approx(0.1, abs=1e-6)   # interior pixels: nothing clipped


def test_attacks_clip_to_the_pixel_range():
    x = np.tile(np.array([-1.0, 1.0, -0.95, 0.95], "float32"), 4)[None].repeat(5, 0)
    y = np.arange(5) % 3
    model = linear_classifier(seed=2)
    for adv in (adversarial.fgsm(model, x, y, 0.3), adversarial.pgd(model, x, y, 0.3, steps=5, seed=1)):
        adv = adv.numpy()
        assert adv.min() >= -1.0 and adv.max() <= 1.0
        assert np.max(np.abs(adv - x)) <= 0.3 + 1e-6
    custom = adversarial.fgsm(model, (x + 1) / 2, y, 0.3, pixel_range=(0.0, 1.0)).numpy()
    assert custom.min() >= 0.0 and custom.max() <= 1.0


def test_pgd_with_one_full_step_and_no_random_start_is_fgsm(batch):
    x, y = batch
    model = linear_classifier()
    np.testing.assert_allclose(
        adversarial.pgd(model, x, y, 0.1, step_size=0.1, steps=1, random_start=False),
        adversarial.fgsm(model, x, y, 0.1),
        atol=1e-6,
    )


def summed_cross_entropy(model, x, y):
    return float(keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="sum")(y, model(x)))


def test_pgd_is_projected_signed_gradient_ascent_from_the_seeded_start(batch):
    x, y = batch
    model = linear_classifier()
    epsilon, step_size = 0.2, 0.05
    adv = adversarial.pgd(model, x, y, epsilon, step_size=step_size, steps=4, seed=3).numpy()
    # By hand: the same uniform start in the ball, then four steps up the sign of the gradient, each projected.
    start = tf.random.stateless_uniform(x.shape, seed=[3, 0], minval=-epsilon, maxval=epsilon).numpy()
    expected = np.clip(x + start, -1.0, 1.0)
    losses = [summed_cross_entropy(model, expected, y)]
    for _ in range(4):
        expected = np.clip(expected + step_size * np.sign(hand_gradient(model, expected, y)), x - epsilon, x + epsilon)
        expected = np.clip(expected, -1.0, 1.0)
        losses.append(summed_cross_entropy(model, expected, y))
    np.testing.assert_allclose(adv, expected, atol=1e-5)
    assert np.max(np.abs(adv - x)) <= epsilon + 1e-6
    # The loss is convex in x for a linear model: every ascent step raises it, well above the clean loss.
    assert np.all(np.diff(losses) > 0) and losses[-1] > summed_cross_entropy(model, x, y) + 1.0
    np.testing.assert_array_equal(adv, adversarial.pgd(model, x, y, epsilon, step_size=step_size, steps=4, seed=3).numpy())
    other_start = adversarial.pgd(model, x, y, epsilon, step_size=step_size, steps=4, seed=4).numpy()
    assert np.max(np.abs(other_start - adv)) > 1e-3   # another seed, another start


def small_mlp(seed=0, pixels=16, classes=3):
    """A ReLU network: its loss is not convex in x, so one FGSM step is not the best point of the ball."""
    model = keras.Sequential([keras.Input((pixels,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(classes)])
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(scale=0.5, size=w.shape).astype("float32") for w in model.get_weights()])
    return model


def test_pgd_with_more_steps_reaches_at_least_the_loss_of_fgsm(batch):
    x, y = batch
    model = small_mlp()
    clean = summed_cross_entropy(model, x, y)
    one_step = summed_cross_entropy(model, adversarial.fgsm(model, x, y, 0.2), y)
    many_steps = summed_cross_entropy(model, adversarial.pgd(model, x, y, 0.2, steps=20, seed=0), y)
    assert clean < one_step <= many_steps
    # A single small PGD step (2.5 epsilon / 20) climbs less than FGSM's full step.
    assert summed_cross_entropy(model, adversarial.pgd(model, x, y, 0.2, step_size=0.025, steps=1, random_start=False), y) < one_step


def test_robust_accuracy_at_epsilon_zero_is_the_clean_accuracy(batch):
    x, y = batch
    model = linear_classifier()
    clean = float(np.mean(np.argmax(model(x), -1) == y))
    assert 0 < clean < 1
    assert adversarial.robust_accuracy(model, x, y, adversarial.fgsm, batch_size=3, epsilon=0.0) == clean
    # With a budget it is the accuracy on FGSM's images by hand, in batches of 3 as in one, and below the clean one.
    attacked = x + 0.5 * np.sign(hand_gradient(model, x, y))
    by_hand = float(np.mean(np.argmax(attacked @ model.layers[0].kernel.numpy(), -1) == y))
    assert by_hand < clean
    assert adversarial.robust_accuracy(model, x, y, adversarial.fgsm, batch_size=3, epsilon=0.5) == by_hand
    assert adversarial.robust_accuracy(model, x, y, adversarial.fgsm, epsilon=0.5) == by_hand


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(epsilon=-0.1), r"^epsilon must be in \[0\.0, inf\)\. Received: epsilon=-0\.1$"),
        (dict(epsilon=float("nan")), r"^epsilon must be in \[0\.0, inf\)\. Received: epsilon=nan$"),
        (dict(epsilon=float("inf")), r"^epsilon must be in \[0\.0, inf\)\. Received: epsilon=inf$"),
        (dict(epsilon=0.1, pixel_range=(1.0, -1.0)), "pixel_range"),
    ],
)
def test_attacks_reject_bad_arguments(batch, kwargs, match):
    x, y = batch
    with pytest.raises(ValueError, match=match):
        adversarial.fgsm(linear_classifier(), x, y, **kwargs)


def test_attacks_reject_mismatched_labels(batch):
    x, y = batch
    with pytest.raises(ValueError, match="labels a vector"):
        adversarial.pgd(linear_classifier(), x, y[:3], 0.1)
    with pytest.raises(ValueError, match="steps"):
        adversarial.pgd(linear_classifier(), x, y, 0.1, steps=0)


def test_adversarial_batch_is_one_fgsm_step_up_the_loss_from_a_random_start_projected():
    # Pixels at and near the ends of [-1, 1], so that both projections, on the ball and on the range, are active.
    x = np.tile(np.array([-1.0, 1.0, -0.95, 0.95, 0.0, 0.3, -0.3, 0.6], "float32"), 2)[None].repeat(8, 0)
    y = np.arange(8) % 3
    model = linear_classifier(seed=2)
    epsilon = 0.1
    trainer = adversarial.AdversarialTraining(model, epsilon=epsilon, seed=0)
    adv = trainer.adversarial_batch(tf.constant(x), tf.constant(y)).numpy()
    # By hand: the same uniform start (a fresh generator of the same seed), one step of 1.25 epsilon up the
    # sign of the gradient there, back onto the ball of x, then onto the pixel range.
    noise = keras.random.uniform(x.shape, -epsilon, epsilon, seed=keras.random.SeedGenerator(0)).numpy()
    start = np.clip(x + noise, -1.0, 1.0)
    expected = np.clip(start + 1.25 * epsilon * np.sign(hand_gradient(model, start, y)), x - epsilon, x + epsilon)
    np.testing.assert_allclose(adv, np.clip(expected, -1.0, 1.0), atol=1e-6)
    assert np.max(np.abs(adv - x)) == pytest.approx(epsilon, abs=1e-6)   # the step of 1.25 epsilon reaches the edge
    assert adv.min() == -1.0 and adv.max() == 1.0
    # The perturbation raises the loss: above the random start's (convex loss, a step up its gradient) and the clean one.
    assert summed_cross_entropy(model, adv, y) > summed_cross_entropy(model, start, y) > 0
    assert summed_cross_entropy(model, adv, y) > summed_cross_entropy(model, x, y) + 0.5


def test_adversarial_training_trains_the_classifier_on_the_adversarial_batch(batch):
    x, y = batch
    model = linear_classifier()
    trainer = adversarial.AdversarialTraining(model, epsilon=0.1, seed=0)
    # The batch the first step trains on: the first draw of a trainer with the same seed, on the same weights.
    adv = adversarial.AdversarialTraining(linear_classifier(), epsilon=0.1, seed=0).adversarial_batch(
        tf.constant(x), tf.constant(y)).numpy()
    before = model.layers[0].kernel.numpy().copy()
    trainer.compile(optimizer=keras.optimizers.SGD(0.1), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    logs = trainer.train_on_batch(x, y, return_dict=True)
    # One SGD step on the mean cross-entropy at the adversarial images: W - 0.1 * adv^T (softmax - onehot) / N.
    logits = adv @ before
    probabilities = np.exp(logits - logits.max(1, keepdims=True))
    probabilities /= probabilities.sum(1, keepdims=True)
    gradient = adv.T @ (probabilities - np.eye(3)[y]) / len(y)
    np.testing.assert_allclose(model.layers[0].kernel.numpy(), before - 0.1 * gradient, atol=1e-6)
    assert logs["loss"] == pytest.approx(summed_cross_entropy(linear_classifier(), adv, y) / len(y), rel=1e-5)
    assert logs["accuracy"] == pytest.approx(float(np.mean(logits.argmax(1) == y)))
    clean = trainer.evaluate(x, y, verbose=0, return_dict=True)
    cross_entropy = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    assert clean["loss"] == pytest.approx(float(cross_entropy(y, model(x))), rel=1e-5)   # evaluate: clean images


def test_adversarial_training_rejects_a_bad_epsilon():
    with pytest.raises(ValueError, match="epsilon"):
        adversarial.AdversarialTraining(linear_classifier(), epsilon=-1.0)


# --- inference mode, defaults, zero gradients, argument checks ---------------------------

def dropout_classifier(seed=0, pixels=16, classes=3):
    """linear_classifier's logits followed by Dropout(0.5): the same function in inference mode, random in training."""
    linear = linear_classifier(seed, pixels, classes)
    model = keras.Sequential([keras.Input((pixels,)), keras.layers.Dense(classes, use_bias=False), keras.layers.Dropout(0.5)])
    model.layers[0].kernel.assign(linear.layers[0].kernel)
    return model


def hand_adversarial_batch(model, x, y, epsilon, step_size, seed):
    """AdversarialTraining.adversarial_batch by hand: the seeded start, one signed step, both projections."""
    noise = keras.random.uniform(x.shape, -epsilon, epsilon, seed=keras.random.SeedGenerator(seed)).numpy()
    start = np.clip(x + noise, -1.0, 1.0)
    stepped = np.clip(start + step_size * np.sign(hand_gradient(model, start, y)), x - epsilon, x + epsilon)
    return np.clip(stepped, -1.0, 1.0)


def test_attacks_and_evaluation_run_the_classifier_in_inference_mode_and_training_in_training_mode(batch):
    x, y = batch
    model, linear = dropout_classifier(), linear_classifier()
    # Dropout active anywhere but training would make these differ from the linear model's values by hand.
    np.testing.assert_allclose(adversarial.fgsm(model, x, y, 0.1), x + 0.1 * np.sign(hand_gradient(linear, x, y)), atol=1e-6)
    np.testing.assert_allclose(
        adversarial.pgd(model, x, y, 0.2, step_size=0.05, steps=3, seed=1),
        adversarial.pgd(linear, x, y, 0.2, step_size=0.05, steps=3, seed=1),
        atol=1e-6,
    )
    assert adversarial.robust_accuracy(model, x, y, adversarial.fgsm, epsilon=0.5) == adversarial.robust_accuracy(
        linear, x, y, adversarial.fgsm, epsilon=0.5)
    trainer = adversarial.AdversarialTraining(model, epsilon=0.1, seed=0)
    np.testing.assert_allclose(trainer(x), linear(x), atol=1e-6)   # calling the wrapper: inference by default
    adv = trainer.adversarial_batch(tf.constant(x), tf.constant(y)).numpy()
    np.testing.assert_allclose(adv, hand_adversarial_batch(linear, x, y, 0.1, 0.125, seed=0), atol=1e-6)
    cross_entropy = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    trainer.compile(optimizer=keras.optimizers.SGD(0.0), loss=cross_entropy)
    assert trainer.evaluate(x, y, verbose=0, return_dict=True)["loss"] == pytest.approx(float(cross_entropy(y, linear(x))), rel=1e-5)
    # fit runs the classifier in training mode: dropout on the logits moves the loss off its inference value.
    trainer = adversarial.AdversarialTraining(dropout_classifier(), epsilon=0.1, seed=0)
    trainer.compile(optimizer=keras.optimizers.SGD(0.0), loss=cross_entropy)
    logs = trainer.train_on_batch(x, y, return_dict=True)
    assert abs(logs["loss"] - float(cross_entropy(y, linear(adv)))) > 1e-3


def test_pixels_with_zero_gradient_are_not_moved(batch):
    x, y = batch
    model = linear_classifier()
    model.layers[0].kernel.assign(np.concatenate([np.zeros((1, 3), "float32"), model.layers[0].kernel.numpy()[1:]]))
    assert np.all(hand_gradient(model, x, y)[:, 0] == 0)   # pixel 0 does not reach the logits
    np.testing.assert_array_equal(adversarial.fgsm(model, x, y, 0.1).numpy()[:, 0], x[:, 0])
    trainer = adversarial.AdversarialTraining(model, epsilon=0.1, seed=0)
    adv = trainer.adversarial_batch(tf.constant(x), tf.constant(y)).numpy()
    np.testing.assert_allclose(adv, hand_adversarial_batch(model, x, y, 0.1, 0.125, seed=0), atol=1e-6)


def test_attack_and_trainer_defaults(batch):
    x, y = batch
    model = linear_classifier()
    # PGD: 10 steps of 2.5 epsilon / 10 from a random start of seed 0.
    np.testing.assert_allclose(
        adversarial.pgd(model, x, y, 0.2),
        adversarial.pgd(model, x, y, 0.2, step_size=0.05, steps=10, random_start=True, seed=0),
        atol=1e-6,
    )
    # The trainer: seed 0 and a step of 1.25 epsilon by default; a step size given is the one used.
    default = adversarial.AdversarialTraining(model, epsilon=0.1).adversarial_batch(tf.constant(x), tf.constant(y))
    np.testing.assert_allclose(default, hand_adversarial_batch(model, x, y, 0.1, 0.125, seed=0), atol=1e-6)
    small = adversarial.AdversarialTraining(model, epsilon=0.1, step_size=0.02).adversarial_batch(tf.constant(x), tf.constant(y))
    np.testing.assert_allclose(small, hand_adversarial_batch(model, x, y, 0.1, 0.02, seed=0), atol=1e-6)
    assert np.max(np.abs(small.numpy() - default.numpy())) > 1e-3


def test_robust_accuracy_attacks_every_image_once_in_batches_of_500_by_default():
    sizes = []

    def spy(model, images, labels):
        sizes.append(len(images))
        return images

    x = np.zeros((1001, 16), "float32")
    y = np.argmax(linear_classifier()(x), -1)   # every image classified as its label
    assert adversarial.robust_accuracy(linear_classifier(), x, y, spy) == 1.0
    assert sizes == [500, 500, 1]
    with pytest.raises(ValueError, match=r"^batch_size must be a positive integer\. Received: batch_size=0$"):
        adversarial.robust_accuracy(linear_classifier(), x, y, spy, batch_size=0)


def test_attacks_name_each_bad_argument_and_take_float64_images(batch):
    x, y = batch
    model = linear_classifier()
    with pytest.raises(ValueError, match=r"^images must be a batch \(N, \.\.\.\) and labels a vector \(N,\) of class"):
        adversarial.fgsm(model, x[:, 0], y, 0.1)   # one number per example: no batch of images
    with pytest.raises(ValueError, match=r"^pixel_range must be \(low, high\) with low < high"):
        adversarial.fgsm(model, x, y, 0.1, pixel_range=(0.5, 0.5))
    with pytest.raises(ValueError, match=r"^steps must be a positive integer\. Received: steps=0$"):
        adversarial.pgd(model, x, y, 0.1, steps=0)
    attacked = adversarial.fgsm(model, x.astype(np.float64), y, 0.1)
    assert attacked.dtype == tf.float32
    np.testing.assert_allclose(attacked, adversarial.fgsm(model, x, y, 0.1), atol=1e-6)
