"""Losses and log-likelihoods of the curriculum: pure functions on tensors.

Names follow TF-GAN. Every function takes logits where a probability would
otherwise be involved, so it stays finite for logits of +-100, and checks the
shapes it is given: a mismatch raises ``ValueError`` naming both shapes
(feeding images where logits belong, E-000-4 and E-003-4, is caught this way).

Sign convention: a *loss* is minimised. A *log-likelihood* or *ELBO* is
maximised; its negative is the loss.
"""

import math

import keras
import tensorflow as tf

from genai_tf.metrics import nats_to_bits
from genai_tf.validation import float_in, non_negative_int, positive_int

LOG_2PI = math.log(2.0 * math.pi)


def _as_float(x, name, dtype=None):
    """Convert to a float tensor (of ``dtype`` when given) that has a batch axis."""
    x = tf.convert_to_tensor(x)
    if dtype is not None:
        x = tf.cast(x, dtype)
    elif not x.dtype.is_floating:
        x = tf.cast(x, tf.float32)
    if x.shape.rank == 0:
        raise ValueError(f"{name} must have a batch axis. Received: {name} with shape ()")
    return x


def _same_shape(a, b, name_a, name_b, from_axis=0):
    if a.shape.rank != b.shape.rank or not a.shape[from_axis:].is_compatible_with(
        b.shape[from_axis:]
    ):
        what = "the same shape" if from_axis == 0 else "the same shape after the batch axis"
        raise ValueError(
            f"{name_a} and {name_b} must have {what}. "
            f"Received: {name_a}.shape={tuple(a.shape)}, {name_b}.shape={tuple(b.shape)}"
        )


def _check_logits(logits, name):
    """Discriminator outputs are one logit per example: shape (batch_size, 1)."""
    logits = _as_float(logits, name)
    if logits.shape.rank != 2 or logits.shape[1] != 1:
        raise ValueError(
            f"{name} must be discriminator logits of shape (batch_size, 1) (one logit per "
            f"example, not images or probabilities per pixel). Received: {name}.shape={tuple(logits.shape)}"
        )
    return logits


def _check_beta(beta):
    """A KL weight >= 0 as a float; a tensor (a schedule's weight inside a step) passes unchecked."""
    if tf.is_tensor(beta):
        return beta
    return float_in(beta, 0.0, math.inf, "beta", include_low=True, include_high=False)


def _sum_per_example(x):
    """Sum every axis but the first: (batch, ...) -> (batch,)."""
    return tf.reduce_sum(tf.reshape(x, (tf.shape(x)[0], -1)), axis=1)


def minimax_discriminator_loss(real_logits, fake_logits):
    """Discriminator loss of the minimax GAN: the negative of the value V(D, G).

    Formula:
        V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))],  D = sigmoid(logits)
        loss = -V = mean(softplus(-real_logits)) + mean(softplus(fake_logits))

    Both terms are binary cross-entropies (real labelled 1, fake labelled 0),
    so at logits of 0 the loss is log 2 + log 2. No label smoothing (TF-GAN's
    default of 0.25 is not used here).

    See "Generative Adversarial Nets", Goodfellow et al., 2014
    (https://arxiv.org/abs/1406.2661).

    Args:
        real_logits: discriminator logits on real data, shape (batch_size, 1),
            range (-inf, inf). Logits, not probabilities.
        fake_logits: discriminator logits on generated samples, shape
            (fake_batch_size, 1); the batch sizes may differ.

    Returns:
        Scalar float tensor.

    Example:
    >>> round(float(minimax_discriminator_loss([[0.0]], [[0.0]])), 4)  # 2 log 2
    1.3863
    """
    real_logits = _check_logits(real_logits, "real_logits")
    fake_logits = tf.cast(_check_logits(fake_logits, "fake_logits"), real_logits.dtype)
    return tf.reduce_mean(tf.math.softplus(-real_logits)) + tf.reduce_mean(
        tf.math.softplus(fake_logits)
    )


def minimax_generator_loss(fake_logits):
    """Saturating generator loss of the minimax GAN (the original formulation).

    Formula:
        loss = E_z[log(1 - D(G(z)))] = mean(-softplus(fake_logits))

    Its gradient with respect to the logit is -sigmoid(fake_logits), which
    vanishes when the discriminator confidently rejects the samples
    (D(G(z)) -> 0), exactly when the generator most needs a signal. Use
    :func:`modified_generator_loss` in practice.

    See "Generative Adversarial Nets" (https://arxiv.org/abs/1406.2661), eq. 1.

    Args:
        fake_logits: discriminator logits on generated samples,
            shape (batch_size, 1), range (-inf, inf). Not probabilities.

    Returns:
        Scalar float tensor (it is <= 0).

    Example:
    >>> round(float(minimax_generator_loss([[0.0]])), 4)  # log(1/2)
    -0.6931
    """
    fake_logits = _check_logits(fake_logits, "fake_logits")
    return tf.reduce_mean(-tf.math.softplus(fake_logits))


def modified_generator_loss(fake_logits):
    """Non-saturating generator loss: the one used in practice.

    Formula:
        loss = E_z[-log D(G(z))] = mean(softplus(-fake_logits))

    Its gradient with respect to the logit is -(1 - sigmoid(fake_logits)),
    close to -1 when D(G(z)) -> 0, so a rejected generator still learns.

    See "Generative Adversarial Nets" (https://arxiv.org/abs/1406.2661), sec. 3.

    Args:
        fake_logits: discriminator logits on generated samples,
            shape (batch_size, 1), range (-inf, inf). Not probabilities.

    Returns:
        Scalar float tensor (it is >= 0).

    Example:
    >>> round(float(modified_generator_loss([[0.0]])), 4)  # log 2
    0.6931
    """
    fake_logits = _check_logits(fake_logits, "fake_logits")
    return tf.reduce_mean(tf.math.softplus(-fake_logits))


def gaussian_kl_divergence(z_mean, z_log_var):
    """KL(q || p) of a diagonal Gaussian q = N(z_mean, exp(z_log_var)) from p = N(0, I).

    Formula:
        KL = -1/2 * sum_j (1 + log sigma_j^2 - mu_j^2 - sigma_j^2)

    Summed over the latent dimensions, one value per example. It depends on
    the variance: for mu = 0 it is 0 only at sigma = 1 (compare E-001-3, whose
    version ignores sigma).

    See "Auto-Encoding Variational Bayes", Kingma & Welling, 2013
    (https://arxiv.org/abs/1312.6114), appendix B.

    Args:
        z_mean: posterior means, shape (batch_size, latent_dim).
        z_log_var: posterior log-variances (log sigma^2, not sigma),
            same shape as ``z_mean``.

    Returns:
        Float tensor of shape (batch_size,), in nats, >= 0.

    Example:
    >>> [round(float(v), 4) for v in gaussian_kl_divergence([[1.0, 1.0]], [[0.0, 0.0]])]
    [1.0]
    """
    z_mean = _as_float(z_mean, "z_mean")
    z_log_var = _as_float(z_log_var, "z_log_var", z_mean.dtype)
    _same_shape(z_mean, z_log_var, "z_mean", "z_log_var")
    terms = 1.0 + z_log_var - tf.square(z_mean) - tf.exp(z_log_var)
    return -0.5 * _sum_per_example(terms)


def bernoulli_log_likelihood(x, logits):
    """log p(x | logits) of independent Bernoulli pixels, from logits.

    Formula:
        log p(x) = sum_i [x_i * l_i - softplus(l_i)]
                 = -sum_i binary_cross_entropy(x_i, sigmoid(l_i))

    Computed with ``tf.nn.sigmoid_cross_entropy_with_logits``, so it is finite
    for logits of +-100. ``x`` may be binary or a grey level in [0, 1] (then it
    is the continuous-target cross-entropy, not a normalised likelihood).

    Args:
        x: targets in [0, 1], shape (batch_size, ...).
        logits: decoder logits, same shape as ``x``. Logits, not probabilities.

    Returns:
        Float tensor of shape (batch_size,): log-likelihood in nats, <= 0 for
        binary ``x``.

    Example:
    >>> [round(float(v), 4) for v in bernoulli_log_likelihood([[1.0, 0.0]], [[0.0, 0.0]])]
    [-1.3863]
    """
    logits = _as_float(logits, "logits")
    x = _as_float(x, "x", logits.dtype)
    _same_shape(x, logits, "x", "logits")
    return -_sum_per_example(tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits))


def gaussian_log_likelihood(x, mean, log_var):
    """log N(x | mean, exp(log_var)) of independent Gaussian dimensions.

    Formula:
        log p(x) = -1/2 * sum_i [log(2 pi) + log_var_i + (x_i - mean_i)^2 / exp(log_var_i)]

    Args:
        x: observations, shape (batch_size, ...).
        mean: predicted means, same shape as ``x``.
        log_var: log-variances, same shape as ``x`` or broadcastable to it
            (a scalar gives one fixed variance for every dimension).

    Returns:
        Float tensor of shape (batch_size,), in nats.

    Example:
    >>> [round(float(v), 4) for v in gaussian_log_likelihood([[0.0]], [[0.0]], 0.0)]  # -log(2 pi)/2
    [-0.9189]
    """
    mean = _as_float(mean, "mean")
    x = _as_float(x, "x", mean.dtype)
    _same_shape(x, mean, "x", "mean")
    log_var = tf.cast(tf.convert_to_tensor(log_var), mean.dtype)
    try:
        broadcast = tf.broadcast_static_shape(x.shape, log_var.shape)
    except ValueError:
        broadcast = None
    if broadcast is None or not broadcast.is_compatible_with(x.shape):
        raise ValueError(
            "log_var must have the shape of x or broadcast to it. "
            f"Received: x.shape={tuple(x.shape)}, log_var.shape={tuple(log_var.shape)}"
        )
    terms = LOG_2PI + log_var + tf.square(x - mean) * tf.exp(-log_var)
    return -0.5 * _sum_per_example(terms + tf.zeros_like(x))


def elbo(log_likelihood, kl_divergence, beta=1.0):
    """Evidence lower bound per example: reconstruction term minus (beta times) the KL.

    Formula:
        ELBO(x) = E_{q(z|x)}[log p(x|z)] - beta * KL(q(z|x) || p(z))  <=  log p(x)

    The bound holds for beta = 1; beta > 1 gives the beta-VAE objective. The
    VAE loss to minimise is ``-mean(elbo(...))``.

    See "Auto-Encoding Variational Bayes" (https://arxiv.org/abs/1312.6114), eq. 3,
    and "beta-VAE", Higgins et al., ICLR 2017.

    Args:
        log_likelihood: a one-sample estimate of E_q[log p(x|z)] per example,
            shape (batch_size,), e.g. from :func:`bernoulli_log_likelihood`.
        kl_divergence: KL(q(z|x) || p(z)) per example, shape (batch_size,),
            e.g. from :func:`gaussian_kl_divergence`.
        beta: weight of the KL term, a finite number >= 0 (a tensor, such as a
            schedule's value inside a train step, is used unchecked).

    Returns:
        Float tensor of shape (batch_size,), in nats.

    Example:
    >>> [float(v) for v in elbo([-3.0, -2.0], [1.0, 0.5])]
    [-4.0, -2.5]
    """
    log_likelihood = _as_float(log_likelihood, "log_likelihood")
    kl_divergence = _as_float(kl_divergence, "kl_divergence", log_likelihood.dtype)
    _same_shape(log_likelihood, kl_divergence, "log_likelihood", "kl_divergence")
    if log_likelihood.shape.rank != 1:
        raise ValueError(
            "log_likelihood and kl_divergence must be per-example vectors of shape "
            f"(batch_size,). Received: shape={tuple(log_likelihood.shape)}"
        )
    beta = _check_beta(beta)
    return log_likelihood - tf.cast(beta, log_likelihood.dtype) * kl_divergence


def reparameterize(z_mean, z_log_var, seed=None):
    """Draw z ~ N(z_mean, exp(z_log_var)) as a differentiable function of both.

    Formula:
        z = mu + exp(log_var / 2) * eps,   eps ~ N(0, I)

    The randomness sits in eps, which does not depend on the parameters, so
    gradients flow to ``z_mean`` and ``z_log_var`` (the reparameterisation
    trick). Predicting the log-variance keeps sigma positive for any network
    output (compare E-001-3).

    See "Auto-Encoding Variational Bayes" (https://arxiv.org/abs/1312.6114), sec. 2.4.

    Args:
        z_mean: means, shape (batch_size, latent_dim).
        z_log_var: log-variances, same shape.
        seed: None, an int, or a ``keras.random.SeedGenerator`` (use the
            generator inside ``tf.function`` so each call draws new noise).

    Returns:
        Float tensor of the shape of ``z_mean``.

    Example:
    >>> z = reparameterize([[0.0, 5.0]], [[-100.0, -100.0]], seed=1)  # sigma ~ 0
    >>> [round(float(v), 4) for v in z[0]]
    [0.0, 5.0]
    """
    z_mean = _as_float(z_mean, "z_mean")
    z_log_var = _as_float(z_log_var, "z_log_var", z_mean.dtype)
    _same_shape(z_mean, z_log_var, "z_mean", "z_log_var")
    eps = keras.random.normal(tf.shape(z_mean), dtype=z_mean.dtype, seed=seed)
    return z_mean + tf.exp(0.5 * z_log_var) * eps


def wasserstein_critic_loss(real_scores, fake_scores):
    """Critic loss of the Wasserstein GAN (without the Lipschitz penalty).

    Formula:
        loss = mean(fake_scores) - mean(real_scores)

    The critic maximises E[f(x)] - E[f(G(z))], an estimate of the
    Wasserstein-1 distance when f is 1-Lipschitz; its scores are unbounded
    reals, with no sigmoid (compare E-000-6 and E-004-1).

    See "Wasserstein GAN", Arjovsky, Chintala & Bottou, 2017
    (https://arxiv.org/abs/1701.07875).

    Args:
        real_scores: critic outputs on real data, shape (batch_size, 1).
        fake_scores: critic outputs on generated samples, shape (batch_size, 1).

    Returns:
        Scalar float tensor.

    Example:
    >>> float(wasserstein_critic_loss([[3.0], [1.0]], [[0.5], [-0.5]]))
    -2.0
    """
    real_scores = _check_logits(real_scores, "real_scores")
    fake_scores = tf.cast(_check_logits(fake_scores, "fake_scores"), real_scores.dtype)
    return tf.reduce_mean(fake_scores) - tf.reduce_mean(real_scores)


def wasserstein_generator_loss(fake_scores):
    """Generator loss of the Wasserstein GAN: minus the critic's mean score on fakes.

    Formula:
        loss = -mean(fake_scores)

    Args:
        fake_scores: critic outputs on generated samples, shape (batch_size, 1).

    Returns:
        Scalar float tensor.

    Example:
    >>> float(wasserstein_generator_loss([[0.5], [-1.5]]))
    0.5
    """
    return -tf.reduce_mean(_check_logits(fake_scores, "fake_scores"))


def random_interpolates(real, fake, seed=None):
    """Points on straight lines between real and fake samples, one epsilon per example.

    Formula:
        x_hat = epsilon * real + (1 - epsilon) * fake,  epsilon ~ U[0, 1] per example

    Args:
        real: real samples, shape (batch_size, ...).
        fake: generated samples, same shape.
        seed: None, an int or a ``keras.random.SeedGenerator``.

    Returns:
        (interpolates, epsilon): the points, shape of ``real``, and epsilon,
        shape (batch_size, 1, ..., 1), broadcast over each example.
    """
    real = _as_float(real, "real")
    fake = _as_float(fake, "fake", real.dtype)
    _same_shape(real, fake, "real", "fake")
    shape = tf.concat([tf.shape(real)[:1], tf.ones([real.shape.rank - 1], tf.int32)], axis=0)
    epsilon = keras.random.uniform(shape, 0.0, 1.0, dtype=real.dtype, seed=seed)
    return epsilon * real + (1.0 - epsilon) * fake, epsilon


def wasserstein_gradient_penalty(critic, real, fake, labels=None, seed=None):
    """Gradient penalty of WGAN-GP: (||grad_x f(x_hat)||_2 - 1)^2 at random interpolates.

    Formula:
        GP = mean over examples of (||d f(x_hat) / d x_hat||_2 - 1)^2,
        x_hat = epsilon * real + (1 - epsilon) * fake,  epsilon ~ U[0, 1] per example

    It is about 0 for a critic that is 1-Lipschitz with unit gradient norm
    (for example a linear critic whose weights have norm 1) and positive for a
    steeper one. The critic loss adds ``lambda * GP`` with lambda = 10.

    See "Improved Training of Wasserstein GANs", Gulrajani et al., 2017
    (https://arxiv.org/abs/1704.00028), eq. 3.

    Args:
        critic: callable mapping samples (or ``[samples, labels]`` when
            ``labels`` is given) to scores of shape (batch_size, 1).
        real: real samples, shape (batch_size, ...).
        fake: generated samples, same shape.
        labels: optional int labels, shape (batch_size,), for a conditional critic.
        seed: None, an int or a ``keras.random.SeedGenerator``.

    Returns:
        Scalar float tensor, >= 0.
    """
    interpolates, _ = random_interpolates(real, fake, seed=seed)
    with tf.GradientTape() as tape:
        tape.watch(interpolates)
        scores = critic(interpolates if labels is None else [interpolates, labels], training=True)
    grads = tape.gradient(scores, interpolates)
    norms = tf.sqrt(_sum_per_example(tf.square(grads)) + 1e-12)
    return tf.reduce_mean(tf.square(norms - 1.0))


def importance_weighted_bound(log_weights):
    """The importance-weighted bound L_k from k log-weights per example, via logsumexp.

    Formula:
        L_k = log (1/k) sum_i w_i = logsumexp_i(log w_i) - log k,
        log w_i = log p(x, z_i) - log q(z_i | x),   z_i ~ q(z | x)

    For k = 1 it is the ELBO; its expectation rises with k towards log p(x):
    E[ELBO] = E[L_1] <= E[L_k] <= E[L_k'] <= log p(x) for k <= k'. The
    logsumexp keeps it finite where exp(log w) under- or overflows.

    See "Importance Weighted Autoencoders", Burda, Grosse & Salakhutdinov, 2015
    (https://arxiv.org/abs/1509.00519), eq. 8.

    Args:
        log_weights: log importance weights, shape (batch_size, k), in nats.

    Returns:
        Float tensor of shape (batch_size,), in nats.

    Example:
    >>> [round(float(v), 4) for v in importance_weighted_bound([[-1000.0, -1000.0], [0.0, -100.0]])]
    [-1000.0, -0.6931]
    """
    log_weights = _as_float(log_weights, "log_weights")
    if log_weights.shape.rank != 2 or log_weights.shape[1] == 0:
        raise ValueError(
            "log_weights must have shape (batch_size, k) with k >= 1. "
            f"Received: log_weights.shape={tuple(log_weights.shape)}"
        )
    k = tf.cast(tf.shape(log_weights)[1], log_weights.dtype)
    return tf.reduce_logsumexp(log_weights, axis=1) - tf.math.log(k)


def kl_annealing_weight(step, beta=1.0, warmup_steps=0):
    """Weight of the KL term at a training step: a linear warm-up from 0 to beta.

    Formula:
        weight(step) = beta * min(1, step / warmup_steps)   (beta when warmup_steps = 0)

    Starting with a small KL weight lets the encoder put information into z
    before the prior pulls q(z|x) towards N(0, I), which counters posterior
    collapse. See "Generating Sentences from a Continuous Space", Bowman et
    al., 2015 (https://arxiv.org/abs/1511.06349), and "Ladder Variational
    Autoencoders", Sonderby et al., 2016 (https://arxiv.org/abs/1602.02282).

    Args:
        step: number of updates done so far (int or scalar tensor), >= 0.
        beta: the final weight, a finite number >= 0 (or a tensor, unchecked).
        warmup_steps: steps of the linear ramp, >= 0.

    Returns:
        Scalar float32 tensor.

    Example:
    >>> [float(kl_annealing_weight(s, beta=4.0, warmup_steps=100)) for s in (0, 50, 100, 500)]
    [0.0, 2.0, 4.0, 4.0]
    """
    beta = tf.cast(_check_beta(beta), tf.float32)
    warmup_steps = non_negative_int(warmup_steps, "warmup_steps")
    if warmup_steps == 0:
        return beta
    fraction = tf.cast(step, tf.float32) / float(warmup_steps)
    return beta * tf.minimum(1.0, tf.maximum(0.0, fraction))


def bits_per_dim(nll_nats, num_dims):
    """Convert a negative log-likelihood in nats per example to bits per dimension.

    Formula:
        bits/dim = nll / (num_dims * ln 2) = nats_to_bits(nll) / num_dims

    The nats-to-bits conversion is :func:`genai_tf.metrics.nats_to_bits`.

    Args:
        nll_nats: -log p(x) (or a bound on it) in nats, a scalar or an array.
        num_dims: dimensions per example (784 for a 28x28 image), > 0.

    Returns:
        The value in bits per dimension, the type of ``nll_nats``.

    Example:
    >>> round(float(bits_per_dim(784 * math.log(2.0), 784)), 6)
    1.0
    """
    num_dims = positive_int(num_dims, "num_dims")
    return nats_to_bits(nll_nats) / num_dims
