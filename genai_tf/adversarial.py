"""Adversarial examples: the fast gradient sign method and projected gradient descent.

A classifier that is right on an image can be wrong on the same image moved
by a perturbation too small to see. Both attacks here look for the worst
perturbation inside the max-norm ball ``||delta||_inf <= epsilon``, by
following the sign of the loss gradient with respect to the pixels.

See Goodfellow, Shlens & Szegedy, "Explaining and Harnessing Adversarial
Examples", ICLR 2015 (https://arxiv.org/abs/1412.6572, FGSM), and Madry et
al., "Towards Deep Learning Models Resistant to Adversarial Attacks", ICLR
2018 (https://arxiv.org/abs/1706.06083, PGD and adversarial training).
"""

import math

import keras
import numpy as np
import tensorflow as tf

from genai_tf.validation import float_in, positive_int

_cross_entropy = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="sum")


def _check_epsilon(epsilon):
    """The max-norm budget as a finite float >= 0, or a ValueError naming it."""
    return float_in(epsilon, 0.0, math.inf, "epsilon", include_low=True, include_high=False)


def _check(images, labels, epsilon, pixel_range):
    images = tf.convert_to_tensor(images, tf.float32)
    labels = tf.convert_to_tensor(labels)
    if images.shape.rank is None or images.shape.rank < 2 or labels.shape.rank != 1 or labels.shape[0] != images.shape[0]:
        raise ValueError(
            "images must be a batch (N, ...) and labels a vector (N,) of class indices. "
            f"Received: images.shape={images.shape}, labels.shape={labels.shape}"
        )
    _check_epsilon(epsilon)
    low, high = pixel_range
    if not low < high:
        raise ValueError(f"pixel_range must be (low, high) with low < high. Received: pixel_range={pixel_range!r}")
    return images, labels


def _input_gradient(model, images, labels):
    """Gradient of the summed cross-entropy with respect to the images (one per image, not averaged)."""
    with tf.GradientTape() as tape:
        tape.watch(images)
        loss = _cross_entropy(labels, model(images, training=False))
    return tape.gradient(loss, images)


def fgsm(model, images, labels, epsilon, pixel_range=(-1.0, 1.0)):
    """Fast gradient sign method: one step of size epsilon along the sign of the loss gradient.

    Formula:
        x_adv = clip(x + epsilon * sign(grad_x CE(f(x), y)), low, high)

    Args:
        model: a classifier giving logits (N, num_classes).
        images: (N, ...) in ``pixel_range``.
        labels: int class indices (N,), the true labels.
        epsilon: the max-norm budget, in the images' own units (pixels in
            [-1, 1]: epsilon = 0.2 is 0.1 of the [0, 1] scale).
        pixel_range: (low, high), the valid pixel values; the result is clipped to it.

    Returns:
        A float32 tensor of adversarial images, ``||x_adv - x||_inf <= epsilon``.
    """
    images, labels = _check(images, labels, epsilon, pixel_range)
    gradient = _input_gradient(model, images, labels)
    return tf.clip_by_value(images + epsilon * tf.sign(gradient), *pixel_range)


def pgd(model, images, labels, epsilon, step_size=None, steps=10, random_start=True, pixel_range=(-1.0, 1.0), seed=0):
    """Projected gradient descent on the loss, inside the max-norm ball of radius epsilon.

    Formula:
        x_0     = x + U[-epsilon, epsilon]            (random_start) or x
        x_{t+1} = P(x_t + step_size * sign(grad CE(f(x_t), y)))
        P(u)    = clip(clip(u, x - epsilon, x + epsilon), low, high)

    With ``steps=1``, ``step_size=epsilon`` and no random start it is
    :func:`fgsm`.

    Args:
        model, images, labels, epsilon, pixel_range: as in :func:`fgsm`.
        step_size: size of each sign step (default 2.5 * epsilon / steps, as in Madry et al.).
        steps: positive int, gradient steps.
        random_start: start from a uniform random point of the ball.
        seed: int seed of the random start.

    Returns:
        A float32 tensor of adversarial images within epsilon of ``images`` and within ``pixel_range``.
    """
    images, labels = _check(images, labels, epsilon, pixel_range)
    steps = positive_int(steps, "steps")
    step_size = 2.5 * epsilon / steps if step_size is None else float(step_size)
    low, high = pixel_range
    lower = tf.maximum(images - epsilon, low)
    upper = tf.minimum(images + epsilon, high)
    adversarial = images
    if random_start:
        noise = tf.random.stateless_uniform(tf.shape(images), seed=[int(seed), 0], minval=-epsilon, maxval=epsilon)
        adversarial = tf.clip_by_value(images + noise, lower, upper)
    return _sign_steps(model, adversarial, labels, lower, upper, tf.constant(step_size, tf.float32), tf.constant(steps))


@tf.function(reduce_retracing=True)
def _sign_steps(model, adversarial, labels, lower, upper, step_size, steps):
    """PGD's loop as one graph (traced once per model): ``steps`` projected sign steps."""
    for _ in tf.range(steps):
        gradient = _input_gradient(model, adversarial, labels)
        adversarial = tf.clip_by_value(adversarial + step_size * tf.sign(gradient), lower, upper)
    return adversarial


def robust_accuracy(model, images, labels, attack, batch_size=500, **attack_kwargs):
    """Accuracy of ``model`` on ``attack(model, images, labels, **attack_kwargs)``, in batches.

    Example: ``robust_accuracy(classifier, x, y, pgd, epsilon=0.2, steps=20)``.
    """
    batch_size = positive_int(batch_size, "batch_size")
    labels = np.asarray(labels)
    correct = 0
    for start in range(0, len(labels), batch_size):
        x, y = images[start : start + batch_size], labels[start : start + batch_size]
        adversarial = attack(model, x, y, **attack_kwargs)
        correct += int(np.sum(np.argmax(model(adversarial, training=False), axis=-1) == y))
    return correct / len(labels)


class AdversarialTraining(keras.Model):
    """Train a classifier on adversarial examples of each batch: ``fit`` minimises the robust loss.

    Formula (Madry et al.; the inner maximum approximated by one FGSM step
    from a random start, as in Wong, Rice & Kolter, "Fast is better than
    free", ICLR 2020, https://arxiv.org/abs/2001.03994):

        min_theta  E_(x, y) [ max_{||delta||_inf <= epsilon} CE(f_theta(x + delta), y) ]
        delta_0 ~ U[-epsilon, epsilon],  delta = P(delta_0 + step_size * sign(grad CE(f(x + delta_0), y)))

    ``fit`` reports the loss and accuracy on the adversarial batches;
    ``evaluate`` and ``predict`` use clean images. Compile it with a
    from-logits sparse cross-entropy loss. The wrapped classifier's own
    weights are trained: use and save the classifier afterwards, not this
    wrapper.

    Args:
        classifier: a Keras model giving logits (N, num_classes).
        epsilon: max-norm budget in the images' units, >= 0.
        step_size: the FGSM step (default 1.25 * epsilon, as in Wong et al.).
        pixel_range: (low, high) valid pixel values.
        seed: seed of the random starts.
    """

    def __init__(self, classifier, epsilon, step_size=None, pixel_range=(-1.0, 1.0), seed=0, **kwargs):
        super().__init__(**kwargs)
        self.classifier = classifier
        self.epsilon = _check_epsilon(epsilon)
        self.step_size = 1.25 * self.epsilon if step_size is None else float(step_size)
        self.pixel_range = tuple(float(v) for v in pixel_range)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.accuracy = keras.metrics.SparseCategoricalAccuracy(name="accuracy")

    @property
    def metrics(self):
        return [self.loss_tracker, self.accuracy]

    def call(self, inputs, training=False):
        return self.classifier(inputs, training=training)

    def adversarial_batch(self, images, labels):
        """Random start in the ball, one FGSM step, projected back onto the ball and the pixel range."""
        low, high = self.pixel_range
        start = images + keras.random.uniform(tf.shape(images), -self.epsilon, self.epsilon, seed=self.seed_generator)
        start = tf.clip_by_value(start, low, high)
        with tf.GradientTape() as tape:
            tape.watch(start)
            loss = _cross_entropy(labels, self.classifier(start, training=False))
        stepped = start + self.step_size * tf.sign(tape.gradient(loss, start))
        projected = tf.clip_by_value(stepped, images - self.epsilon, images + self.epsilon)
        return tf.stop_gradient(tf.clip_by_value(projected, low, high))

    def train_step(self, data):
        images, labels = data[0], data[1]
        adversarial_images = self.adversarial_batch(images, labels)
        with tf.GradientTape() as tape:
            logits = self.classifier(adversarial_images, training=True)
            loss = self.compute_loss(y=labels, y_pred=logits)
        variables = self.classifier.trainable_variables
        self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        self.loss_tracker.update_state(loss)
        self.accuracy.update_state(labels, logits)
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        images, labels = data[0], data[1]
        logits = self.classifier(images, training=False)
        self.loss_tracker.update_state(self.compute_loss(y=labels, y_pred=logits))
        self.accuracy.update_state(labels, logits)
        return {m.name: m.result() for m in self.metrics}
