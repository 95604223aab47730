"""Every notebook's claims in one table, checked in the notebook and again on its stored outputs.

A claim compares a number a notebook printed as a key figure
(:func:`genai_tf.config.key_figure`) with a threshold, or with another key
figure. It has one threshold per mode: in full mode what the curriculum
claims, in quick mode what a few training steps can prove (the loss fell, the
samples beat the untrained network), never a vacuous ``-inf``.

A notebook calls :func:`check` after printing its figures; the test of stored
notebooks (``tests/test_stored_claims.py``) parses the key figures of every
stored full run with :func:`parse_key_figures` and evaluates every claim with
the full thresholds of the code as it is now, so a stored run that misses a
claim, or a claim tightened after the run was stored, fails CI.

Claims read the *printed* text: ``"0.544 -> 0.862"`` holds two numbers,
``index`` picks one (0 the first, -1 the last), so the notebook and the test
see the same rounded values.
"""

import math
import operator
import re
from dataclasses import dataclass

from genai_tf.config import KEY_FIGURE_PREFIX, PRINTED_FIGURES, get_mode

OPERATORS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?inf|nan")


@dataclass(frozen=True)
class Claim:
    """One checkable claim about a notebook's key figures.

    Attributes:
        figure: the key figure's name, as printed.
        op: "<", "<=", ">" or ">=": ``value op reference``.
        full: the threshold in full mode; None: not checked in full mode
            (with ``than``: checked unless ``full`` is False).
        quick: the threshold in quick mode; None: not checked in quick mode
            (with ``than``: checked unless ``quick`` is False).
        than: another key figure (or the same one) to compare with instead of
            a threshold.
        index: which number of the printed value (0 first, -1 last).
        than_index: which number of ``than``'s printed value.
        says: the claim in words, printed with the result.
    """

    figure: str
    op: str
    full: object = None
    quick: object = None
    than: object = None
    index: int = 0
    than_index: int = 0
    says: str = ""

    def __post_init__(self):
        if self.op not in OPERATORS:
            raise ValueError(f"op must be one of {sorted(OPERATORS)}. Received: op={self.op!r}")

    def applies(self, mode):
        """Whether this claim is checked in ``mode`` ("quick" or "full")."""
        setting = self.full if mode == "full" else self.quick
        if self.than is not None:
            return setting is not False
        return setting is not None and setting is not False

    def reference(self, figures, mode):
        """The number compared with: the mode's threshold or ``than``'s value."""
        if self.than is not None:
            return number(figures[self.than], self.than_index, self.than)
        return float(self.full if mode == "full" else self.quick)

    def holds(self, figures, mode):
        """(ok, value, reference) for the printed ``figures`` ({name: text})."""
        value = number(figures[self.figure], self.index, self.figure)
        reference = self.reference(figures, mode)
        return OPERATORS[self.op](value, reference), value, reference

    def names(self):
        """The key figures this claim reads."""
        return (self.figure,) if self.than is None else (self.figure, self.than)

    def describe(self, value, reference):
        """One line: the claim in words and the numbers compared."""
        right = f"{self.than} [{reference:g}]" if self.than is not None else f"{reference:g}"
        words = f" ({self.says})" if self.says else ""
        return f"{self.figure} [{value:g}] {self.op} {right}{words}"


def number(text, index=0, name="figure"):
    """The ``index``-th number in a printed key figure's text.

    Example:
    >>> number("0.544 -> 0.862", 1), number("27.64 -> 2.26", -1), number("6.0x")
    (0.862, 2.26, 6.0)

    Raises:
        ValueError: the text has no number at ``index``.
    """
    found = _NUMBER.findall(str(text).replace(",", ""))
    try:
        return float(found[index])
    except IndexError:
        raise ValueError(f"{name} has no number at index {index}. Received: {text!r}") from None


def parse_key_figures(lines):
    """{name: printed text} from ``[key figure] name: text`` lines (other lines are ignored).

    Example:
    >>> parse_key_figures(["[key figure] beta-VAE beta=1.0: recon, KL: 114.3, 16.4", "noise"])
    {'beta-VAE beta=1.0: recon, KL': '114.3, 16.4'}
    """
    figures = {}
    for line in lines:
        line = line.strip()
        if line.startswith(KEY_FIGURE_PREFIX):
            name, _, text = line[len(KEY_FIGURE_PREFIX) :].strip().rpartition(": ")
            figures[name] = text
    return figures


def stored_figures(notebook):
    """{name: printed text} of the key figures an executed notebook (an ``nbformat`` node) printed on stdout.

    Example:
    >>> import nbformat
    >>> cell = nbformat.v4.new_code_cell(outputs=[nbformat.v4.new_output("stream", text="[key figure] FD: 61.0\\n")])
    >>> stored_figures(nbformat.v4.new_notebook(cells=[cell]))
    {'FD': '61.0'}
    """
    lines = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stdout":
                lines += output.get("text", "").splitlines()
    return parse_key_figures(lines)


def evaluate(notebook, figures, mode, require=False):
    """Check ``notebook``'s claims against ``figures`` ({name: text}) with ``mode``'s thresholds.

    Args:
        notebook: the notebook's stem, a key of :data:`CLAIMS`.
        figures: the printed key figures.
        mode: "quick" or "full".
        require: a claim whose figures are missing fails (the stored-run
            test); otherwise it is left out (a notebook checking as it goes).

    Returns:
        A list of (claim, status, line), status "ok", "FAILED" or "missing".
    """
    if notebook not in CLAIMS:
        raise ValueError(f"no claims are listed for notebook {notebook!r}; known: {sorted(CLAIMS)}")
    results = []
    for claim in CLAIMS[notebook]:
        if not claim.applies(mode):
            continue
        missing = [name for name in claim.names() if name not in figures]
        if missing:
            if require:
                results.append((claim, "missing", f"{claim.figure}: key figure(s) not printed: {missing}"))
            continue
        ok, value, reference = claim.holds(figures, mode)
        if math.isnan(value) or math.isnan(reference):
            ok = False
        results.append((claim, "ok" if ok else "FAILED", claim.describe(value, reference)))
    return results


_CHECKED = set()


def reset():
    """Forget which claims :func:`check` has checked (the next check re-checks and re-prints all of them)."""
    _CHECKED.clear()


def check(notebook, mode=None, figures=None):
    """Check, in a notebook, every claim of ``notebook`` whose figures are printed and not yet checked.

    Prints ``claim ok: ...`` per claim and one line naming the claims that
    this mode does not check. Returns None (so a cell ending with it shows
    nothing more); :func:`evaluate` gives the results as data.

    Raises:
        AssertionError: naming every failed claim with its numbers.
    """
    mode = mode or get_mode()
    figures = PRINTED_FIGURES if figures is None else figures
    def seen(claim):   # the same claim on the same printed values (a re-run cell with new values is re-checked)
        return (notebook, claim, tuple(figures[name] for name in claim.names()))

    results = [r for r in evaluate(notebook, figures, mode) if seen(r[0]) not in _CHECKED]
    failed = [line for claim, status, line in results if status == "FAILED"]
    for claim, status, line in results:
        _CHECKED.add(seen(claim))
        print(f"claim {'ok' if status == 'ok' else 'FAILED'} ({mode} mode): {line}")
    skipped = [c.figure for c in CLAIMS[notebook] if not c.applies(mode)]
    if skipped and results:
        print(f"  ({len(skipped)} claim(s) of {notebook} are checked in the other mode only)")
    if failed:
        raise AssertionError(f"{len(failed)} claim(s) of {notebook} failed in {mode} mode: " + "; ".join(failed))



def fell(figure, says="", **kwargs):
    """A claim that a "before -> after" key figure's last number is below its first (a loss, an FD)."""
    return Claim(figure, "<", than=figure, index=-1, than_index=0, says=says, **kwargs)


def rose(figure, says="", **kwargs):
    """A claim that a "before -> after" key figure's last number is above its first (an ELBO, an accuracy)."""
    return Claim(figure, ">", than=figure, index=-1, than_index=0, says=says, **kwargs)

# Each notebook's entry is edited by whoever owns the notebook; keep one entry per notebook.
CLAIMS = {
    "00_setup_and_data": (),
    "01_generative_models_and_likelihood": (
        Claim("mixture of 10 Bernoullis, test bits/dim", "<", than="independent pixels, test bits/dim",
              says="a latent variable (the mixture fit by EM) improves the held-out likelihood"),
    ),
    "02_gan_minimax": (
        Claim("1-D discriminator, max |D - D*| where the mass is", "<", full=0.05, quick=0.15,
              says="a trained discriminator matches D* where the densities have mass"),
        Claim("1-D discriminator, max |D - D*| where the mass is", "<",
              than="1-D discriminator, max |D - D*| where the mass is, untrained", says="training moved D towards D*"),
        Claim("1-D discriminator, C(G) - V(D, G), untrained -> trained", "<", full=0.005, quick=0.02, index=-1,
              says="V(D, G) of the trained D is close to its maximum C(G)"),
        fell("1-D discriminator, C(G) - V(D, G), untrained -> trained", says="training raised V(D, G) towards C(G)"),
        Claim("1-D discriminator, |mean loss of the last 10% of steps + C(G)|", "<", full=0.01, quick=0.03,
              says="the discriminator's loss settles near -C(G)"),
        Claim("non-saturating gradient vs grad(KL - 2 JSD), max relative difference", "<", full=1e-6, quick=1e-6,
              says="against a frozen D*, the non-saturating gradient is the gradient of KL(p_g || p_data) - 2 JSD"),
        Claim("toy GAN, modes covered of 8", ">=", full=7, says="the toy GAN covers at least 7 of the 8 modes"),
        Claim("toy GAN, modes covered of 8", ">", than="toy GAN, modes covered of 8 at step 0",
              says="it covers more modes than at step 0"),
        Claim("toy GAN, high-quality samples", ">", than="toy GAN, high-quality samples at step 0",
              says="more of its samples lie on a mode than at step 0"),
        Claim("toy GAN, mean discriminator loss over the second half", ">", full=1.0, quick=1.0,
              says="D does not overpower G: its loss stays near log 4 = 1.386, far from 0"),
        Claim("toy GAN, modes covered after G-only training vs a frozen D", "<", than="toy GAN, modes covered of 8",
              says="a generator trained against a frozen discriminator collapses onto fewer modes"),
    ),
    "03_gan_mnist": (
        Claim("MLP GAN, smallest class share of 1,000 samples", ">=", full=0.04,
              says="every digit is at least 4% of the samples"),
        Claim("MLP GAN, digits covered", ">=", full=10, says="all ten digits"),
        fell("MLP GAN, FD to held-out images: untrained -> trained",
             says="training brings the samples closer to held-out digits"),
        Claim("E-001-4, FD to held-out images: flawed vs corrected", ">",
              than="E-001-4, FD to held-out images: flawed vs corrected",
              index=0, than_index=1, says="E-001-4's loop ends farther from the digits than the corrected step"),
        Claim("E-003-4, FD to held-out images: flawed vs corrected", ">",
              than="E-003-4, FD to held-out images: flawed vs corrected",
              index=0, than_index=1, says="E-003-4's losses end farther from the digits than the corrected step"),
        Claim("MLP GAN, speed-up of the fused step", ">", full=3.0, quick=1.0,
              says="the fused step beats the seed-style loop"),
    ),
    "04_dcgan": (
        Claim("FD to held-out images, DCGAN", "<", than="FD to held-out images, MLP GAN", quick=False,
              says="the DCGAN beats notebook 03's MLP GAN on FD (one seed)"),
        fell("DCGAN, FD to held-out images: untrained -> trained", says="training lowers the DCGAN's FD"),
        Claim("FD to held-out images, real training images", "<", than="FD to held-out images, DCGAN",
              says="real images stay closer to the held-out digits than any generator"),
    ),
    "05_conditional_gan": (
        Claim("conditional GAN, label agreement", ">=", full=0.90, quick=0.11,
              says="the classifier reads the requested digit; chance is 0.1"),
        rose("conditional GAN, label agreement untrained -> trained", says="trained above the untrained generator"),
        fell("conditional GAN, FD to held-out images untrained -> trained",
             says="trained samples closer to the held-out images"),
        Claim("conditional GAN, smallest mode-seeking ratio relative to real images", ">=", full=0.8, quick=0.2,
              says="no digit collapsed: its generated pairs differ at least this share of what real pairs do"),
    ),
    "06_wgan_gp": (
        fell("WGAN-GP, FD of 500 samples step 0 -> last",
             says="trained samples closer to the held-out images than the untrained ones"),
        fell("WGAN-GP, W1 estimate first epoch -> last", quick=False,
              says="the critic's score gap fell"),
        fell("WGAN-GP, gradient penalty first epoch -> last", quick=False,
              says="the critic got closer to 1-Lipschitz"),
        Claim("WGAN-GP, smallest digit share", ">=", full=0.01, says="every digit drawn"),
    ),
    "07_vae_elbo": (
        # The same 200,000 noise samples in both modes: the ratios are deterministic, the claim "much lower".
        Claim("gradient variance, score function / reparameterised, d/dmu", ">", full=10.0, quick=10.0,
              says="the reparameterised gradient has a much lower variance"),
        Claim("gradient variance, score function / reparameterised, d/dsigma", ">", full=10.0, quick=10.0,
              says="the reparameterised gradient has a much lower variance"),
        rose("MLP VAE, held-out ELBO untrained -> trained (nats per image)",
             says="training raised the held-out ELBO"),
        Claim("MLP VAE, held-out ELBO (nats per image)", ">",
              than="independent pixels (notebook 01), held-out log-likelihood (nats per image)",
              says="the ELBO, a lower bound on log p(x), beats the exact likelihood of independent pixels"),
        Claim("MLP VAE, held-out ELBO (nats per image)", ">", full=-125.0, says="the curriculum's held-out ELBO"),
        fell("MLP VAE, Frechet distance of 1,000 samples to the 500 held-out images, untrained -> trained",
             says="training brought the samples closer to held-out digits"),
        Claim("MLP VAE, Frechet distance of 1,000 samples to the 500 held-out images", "<",
              than="autoencoder, Frechet distance of 1,000 samples to the 500 held-out images (decoded z ~ N(0, I))",
              quick=False, says="without the KL term, decoded prior draws are worse samples (E-000-2)"),
    ),
    "08_vae_latent_space": (
        rose("genai_tf conv VAE, held-out ELBO untrained -> trained (nats)",
             says="training raised the held-out ELBO"),
        Claim("ELBO margin over the tutorial's architecture (nats)", ">=", full=10.0,
              says="the conv VAE beats the TF tutorial CVAE's held-out ELBO, same data and epochs"),
        Claim("beta-VAE beta=0.5: reconstruction, KL, FD", "<", than="beta-VAE beta=1.0: reconstruction, KL, FD",
              quick=False, says="a smaller beta reconstructs better"),   # quick: 0.4 nats apart, within the noise
        Claim("beta-VAE beta=1.0: reconstruction, KL, FD", "<", than="beta-VAE beta=4.0: reconstruction, KL, FD",
              says="a larger beta reconstructs worse"),
        Claim("beta-VAE beta=0.5: reconstruction, KL, FD", ">", than="beta-VAE beta=1.0: reconstruction, KL, FD",
              index=1, than_index=1, says="a smaller beta spends more KL"),
        Claim("beta-VAE beta=1.0: reconstruction, KL, FD", ">", than="beta-VAE beta=4.0: reconstruction, KL, FD",
              index=1, than_index=1, says="a larger beta spends less KL"),
        rose("active latent dimensions without / with KL warm-up", quick=False,
              says="KL warm-up keeps more latent dimensions active"),
        rose("total KL of q(z|x) without / with KL warm-up (nats)",
             says="with the KL weight ramped up, the encoder carries more information"),
        rose("inpainting: classifier accuracy corrupted -> repaired", quick=False,
              says="latent search repairs masked digits"),
        rose("denoising: classifier accuracy corrupted -> repaired", quick=False,
              says="latent search with the noise model repairs noisy digits"),
        # Independent draws for each bound: the ordering is measured, and holds for any model, trained or not.
        Claim("conv VAE held-out ELBO, L_10, L_100 (nats)", "<", than="conv VAE held-out ELBO, L_10, L_100 (nats)",
              index=0, than_index=1, says="ELBO <= L_10"),
        Claim("conv VAE held-out ELBO, L_10, L_100 (nats)", "<", than="conv VAE held-out ELBO, L_10, L_100 (nats)",
              index=1, than_index=2, says="L_10 <= L_100"),
    ),
    "09_autoregressive_text": (
        fell("GRU, held-out bits/char untrained -> trained", says="training lowered the GRU's held-out loss"),
        fell("Transformer, held-out bits/char untrained -> trained",
             says="training lowered the Transformer's held-out loss"),
        Claim("GRU, held-out bits/char", "<", full=2.3, says="over 1.2 bits/char below the bigram's 3.511"),
        Claim("Transformer, held-out bits/char", "<", full=2.3, says="over 1.2 bits/char below the bigram's 3.511"),
        Claim("GRU, held-out bits/char", "<", than="bigram, held-out bits/char", quick=False,
              says="the GRU beats the bigram"),
        Claim("Transformer, held-out bits/char", "<", than="GRU, held-out bits/char", quick=False,
              says="seed 0 only; benchmarks/claims.py runs 3 seeds"),
        Claim("longest run of one character after 16 spaces, temperature 0.5 / 1.0 / top-p 0.9", ">", full=53,
              says="temperature 0.5 degenerates: longer than any run of spaces in the training text"),
        Claim("longest run of one character after 16 spaces, temperature 0.5 / 1.0 / top-p 0.9", ">", full=53,
              index=2, says="top-p 0.9 degenerates too"),
        Claim("E-003-2 total probability of all sequences, chain rule vs code-mixed", ">", full=0.999, quick=0.999,
              says="the chain rule sums to 1"),
        Claim("E-003-2 total probability of all sequences, chain rule vs code-mixed", ">", full=1.5, quick=1.5, index=1,
              says="the code-mixed score is no distribution"),
        Claim("E-001-5 per-position bits on the last character", "<",
              than="E-001-5 last-state-only bits on the last character", quick=False,
              says="one target per window learns more slowly"),
    ),
    "10_music_generation": (
        fell("GRU on melodies, held-out NLL untrained -> trained", says="training lowered the held-out loss"),
        Claim("GRU, held-out NLL per token (nats)", "<", than="bigram, held-out NLL per token (nats)", quick=False,
              says="the GRU beats the bigram"),
        Claim("interval-histogram distance to the corpus, generated vs shuffled", "<", index=0,
              than="interval-histogram distance to the corpus, generated vs shuffled", than_index=1, quick=False,
              says="closer to the corpus than the shuffled baseline"),
        Claim("longest n-gram shared with the training corpus, median, generated vs held-out", "<=", index=0,
              than="longest n-gram shared with the training corpus, median, generated vs held-out", than_index=1,
              quick=False, says="no more copying than new chorales share"),
        Claim("longest n-gram shared with the training corpus, longest, generated vs held-out", "<", full=24,
              says="no generated melody repeats 24 training notes in a row"),
    ),
    "11_evaluating_generative_models": (
        Claim("evaluation classifier, held-out accuracy", ">=", full=0.95, quick=0.95,
              says="the classifier whose features every metric uses reads real digits"),
        Claim("mean FD between halves of the real training images, n = 50 -> 2000", ">", quick=True, full=True,
              than="mean FD between halves of the real training images, n = 50 -> 2000", than_index=-1,
              says="FD's bias falls with n"),
        Claim("FD between halves, steps up in n at which the mean falls", ">=", quick=True, full=True,
              than="FD between halves, steps up in n at which the mean falls", than_index=1,
              says="it falls at every step up in n"),
        Claim("FD between halves, n = 50 / n = 2000", ">=", full=10.0, quick=10.0, says="roughly like 1/n"),
        Claim("mean FD between halves of the real training images, n = 50 -> 2000", ">", quick=True, full=True,
              than="FD of held-out images with pixel noise (std 0.5), n = 500",
              says="at n = 50 real digits look farther from real digits than noisy ones at n = 500"),
        Claim("KID between halves, largest |mean| in standard errors, n = 50 to 1000", "<=", full=3.0, quick=3.0,
              says="KID is unbiased: its mean over 100 splits is within 3 standard errors of 0 at every n"),
        Claim("KID between halves, largest |mean| / KID of noisy images", "<", full=0.05, quick=0.05,
              says="no KID bias of any size next to a real difference"),
        Claim("classifier Inception Score of the 500 held-out images", ">=", full=9.5, quick=9.5,
              says="real digits score near the maximum of 10"),
        Claim("uniform noise: precision, coverage", ">=", full=0.9, quick=0.9,
              says="precision is fooled by noise (real outliers' large balls)"),
        Claim("uniform noise: precision, coverage", "<=", full=0.05, quick=0.05, index=1,
              says="coverage is not"),
        Claim("untrained WGAN-GP: precision, coverage", "<=", full=0.05, quick=0.05, index=1,
              says="nor for an untrained generator"),
        *(Claim(f"FD, {title}", ">", than="FD, real training images (the floor at this sample size)",
                says="no model beats real images at the same sample size")
          for title in ("MLP GAN", "DCGAN", "conditional DCGAN", "WGAN-GP", "MLP VAE", "convolutional VAE", "PixelCNN",
                      "RealNVP flow")),
        Claim("FD, DCGAN", "<", quick=False, full=True, than="FD, MLP GAN",
              says="the ranking agrees with notebook 04: the DCGAN beats the MLP GAN"),
        Claim("Spearman rank correlation of FD and KID over the image models", ">", full=0.5,
              says="FD and KID agree on the ranking of the trained models"),
        Claim("MLP VAE, |FD change| from 1000 to 2000 samples vs from the reference", "<", quick=False, full=True,
              than="MLP VAE, |FD change| from 1000 to 2000 samples vs from the reference", than_index=1,
              says="07's figure differs from the table's by its binarised reference more than by its sample size"),
        Claim("E-002-3 MLP GAN FD / FD of real images", ">", full=2.0, quick=2.0,
              says="far from real images: 'high quality' does not hold as stated"),
        Claim("E-002-3 MLP GAN recall vs real images'", "<", quick=True, full=True,
              than="E-002-3 MLP GAN recall vs real images'", than_index=1, says="lower recall than real images"),
        Claim("E-002-3 MLP GAN precision vs real images'", "<", quick=False, full=True,
              than="E-002-3 MLP GAN precision vs real images'", than_index=1,
              says="lower precision than real images (not checked in quick mode: precision is fooled by noise)"),
    ),
    "12_adversarial_examples_and_augmentation": (
        fell("evaluation classifier, PGD accuracy at eps = 0 / 0.1 / 0.3",
             says="the attack works: accuracy falls from eps = 0 to 0.3"),
        Claim("evaluation classifier, largest PGD minus FGSM accuracy over eps", "<=", full=0.0, quick=0.02,
              says="PGD is at least as strong as FGSM at every eps (quick: 1 of 50 images of slack)"),
        Claim("MLP, PGD accuracy gain at eps = 0.1 from adversarial training (seed 0)", ">", full=0.20, quick=0.0,
              says="adversarial training raises PGD accuracy over the standard model (one seed)"),
        Claim("MLP, largest PGD minus FGSM accuracy at eps = 0.1", "<=", full=0.0, quick=0.02,
              says="the many-step attack is at least as strong against both MLPs"),
        Claim("adversarially trained MLP, PGD accuracy at eps = 0.3 / at eps = 0.1", "<", full=0.5, quick=1.0,
              says="it still breaks well past its budget: the attack is not failing"),
        rose("CNN accuracy on rotated and shifted held-out digits, without -> with augmentation",
             says="augmentation raises accuracy on transformed digits (one seed)"),
        fell("DCGAN on 500 images, no augmentation: FD untrained -> trained",
             says="the plain DCGAN's samples beat its untrained generator's"),
        fell("DCGAN on 500 images, DiffAugment: FD untrained -> trained", says="so do the augmented DCGAN's"),
        fell("discriminator's train minus held-out mean D(x), without -> with DiffAugment", quick=False,
             says="DiffAugment narrows the discriminator's overfitting gap (one seed)"),
    ),
    "14_autoregressive_images": (
        fell("PixelCNN, held-out NLL untrained -> trained (nats per image)",
             says="training lowered the exact held-out NLL"),
        Claim("PixelCNN, held-out NLL (nats per image)", "<", full=85.0, quick=200.0,
              says="exact NLL on the 500 binarised test digits (uniform pixels: 543.4)"),
        Claim("causal check, largest change of a logit at or before the flipped pixel", "<", full=1e-4, quick=1e-4,
              says="flipping pixel j leaves every logit at raster positions <= j unchanged, up to round-off"),
        Claim("causal check, smallest largest change of a logit after it", ">", full=1e-3, quick=1e-3,
              says="and changes some later logit for each j: the check can fail"),
        *(Claim(f"{name}, held-out -ELBO, -L_10, -L_100 (nats per image)", "<",
                than=f"{name}, held-out -ELBO, -L_10, -L_100 (nats per image)", index=2, than_index=0,
                says="L_100 is a tighter lower bound than the ELBO")
          for name in ("MLP VAE", "convolutional VAE")),
        *(Claim("PixelCNN, held-out NLL (nats per image)", "<",
                than=f"{name}, held-out -ELBO, -L_10, -L_100 (nats per image)", than_index=2,
                says=f"the PixelCNN's exact log p(x) exceeds the {name}'s L_100: a lower bound of another model, no ranking")
          for name in ("MLP VAE", "convolutional VAE")),
        Claim("share read with classifier confidence > 0.9: PixelCNN samples, binarised test digits", "<",
              than="share read with classifier confidence > 0.9: PixelCNN samples, binarised test digits",
              index=0, than_index=1, says="the samples read as digits less often than real digits do"),
        rose("PixelCNN samples, mean log p(x) at T = 1.0 -> 0.7 (nats)",
             says="a lower temperature draws samples the model finds more likely"),
        Claim("PixelCNN, log p(x) of the all-black image, of the likeliest test digit (nats)", ">",
              than="PixelCNN, log p(x) of the all-black image, of the likeliest test digit (nats)", index=0, than_index=1,
              says="the blank image is more probable than any test digit: likelihood is not sample quality"),
        fell("exact log p(real bottom half | top half): own top -> another digit's top (nats)",
             says="the conditional uses the top half: a real bottom half is likelier after its own top"),
        Claim("bottom-half completion, classifier accuracy: top half only, PixelCNN samples, conv VAE latent search", ">",
              than="bottom-half completion, classifier accuracy: top half only, PixelCNN samples, conv VAE latent search",
              index=2, than_index=0, quick=False, says="the VAE's latent search beats a blank bottom half (notebook 08)"),
        Claim("bottom-half completion, classifier accuracy: top half only, PixelCNN samples, conv VAE latent search", ">",
              than="bottom-half completion, classifier accuracy: top half only, PixelCNN samples, conv VAE latent search",
              index=2, than_index=1, quick=False,
              says="the VAE's repair is read right more often than the PixelCNN's completions (seed 0 of each)"),
    ),
    "15_normalizing_flows": (
        # The checks on random couplings use no training: the same numbers in both modes.
        Claim("log|det| vs autodiff Jacobian, max error (coupling, RealNVP, logit)", "<=", full=1e-5, quick=1e-5,
              says="the coupling's log-determinant is log|det| of its Jacobian by automatic differentiation"),
        Claim("max |f^-1(f(x)) - x| (coupling, RealNVP)", "<=", full=1e-5, quick=1e-5,
              says="the inverse undoes the flow up to float32 rounding"),
        rose("ring flow, held-out log-likelihood untrained -> trained (nats per point)",
             says="training raised the held-out log-likelihood on the ring"),
        Claim("ring flow, gap to the true density's held-out log-likelihood (nats per point)", "<", full=0.5, quick=1.5,
              says="the flow's held-out log-likelihood comes near the true density's"),
        Claim("ring flow, held-out log-likelihood minus the true density's, in standard errors", "<", full=3.0, quick=3.0,
              says="no model beats the true density by more than the sampling noise"),
        Claim("ring flow, density integrated over [-4, 4]^2", ">", full=0.98, quick=0.98,
              says="the flow's density integrates to 1"),
        Claim("ring flow, density integrated over [-4, 4]^2", "<", full=1.02, quick=1.02,
              says="the flow's density integrates to 1"),
        Claim("ring flow, modes covered of 8 untrained -> trained", ">=", full=8, index=-1,
              says="the flow covers all 8 modes"),
        rose("ring flow, modes covered of 8 untrained -> trained", says="it covers more modes than the untrained flow"),
        fell("RealNVP on 8-bit digits, held-out bits/dim untrained -> trained",
             says="training lowered the held-out bits/dim"),
        Claim("RealNVP on 8-bit digits, held-out bits/dim untrained -> trained", "<", full=4.5, quick=8.0, index=-1,
              says="the trained flow beats the uniform model's 8 bits/dim (full: by more than 3.5)"),
        Claim("RealNVP on 8-bit digits, bits/dim on 500 training images vs held-out", "<", index=0,
              than="RealNVP on 8-bit digits, bits/dim on 500 training images vs held-out", than_index=1, quick=False,
              says="the flow overfits: it scores its training images better than held-out ones"),
        Claim("RealNVP samples at T = 0.4: FD, classes covered, border grey level", ">",
              than="RealNVP samples at T = 1.0: FD, classes covered, border grey level",
              says="for this flow a lower temperature moves the samples away from the held-out digits"),
        Claim("RealNVP samples at T = 0.4: FD, classes covered, border grey level", ">", index=2,
              than="RealNVP samples at T = 1.0: FD, classes covered, border grey level", than_index=2,
              says="the background turns grey as the temperature falls"),
        Claim("RealNVP, border grey level of f^-1(0) vs the held-out digits", ">", index=0,
              than="RealNVP, border grey level of f^-1(0) vs the held-out digits", than_index=1,
              says="the flow's most likely latent point decodes to a grey background; the digits' is black"),
        # The likelihood table: orderings that hold for any training budget.
        Claim("likelihood table, MLP VAE, -L_100 (nats/image)", "<=", than="likelihood table, MLP VAE, -ELBO (nats/image)",
              says="L_100 is a tighter bound than the ELBO"),
        Claim("likelihood table, conv VAE, -L_100 (nats/image)", "<=", than="likelihood table, conv VAE, -ELBO (nats/image)",
              says="L_100 is a tighter bound than the ELBO"),
        Claim("likelihood table, mixture of 10 Bernoullis (EM), exact NLL (nats/image)", "<",
              than="likelihood table, independent pixels, exact NLL (nats/image)",
              says="a latent variable (the mixture fit by EM) improves on independent pixels"),
        *(Claim(f"likelihood table, {row} (nats/image)", "<",
                than="likelihood table, uniform (fair coins), exact NLL (nats/image)",
                says="every model beats fair coins, 784 ln 2 nats")
          for row in ("independent pixels, exact NLL", "MLP VAE, -ELBO", "conv VAE, -ELBO", "PixelCNN, exact NLL")),
        *(Claim(f"likelihood table, {row} (bits/dim)", "<", than="likelihood table, uniform 8-bit, exact NLL (bits/dim)",
                says="every 8-bit model beats the uniform 8 bits/dim")
          for row in ("independent 8-bit pixels (histograms), exact NLL", "RealNVP, dequantised bound, 1 draw")),
        Claim("likelihood table, RealNVP, importance-weighted dequantised bound (bits/dim)", "<=",
              than="likelihood table, RealNVP, dequantised bound, 1 draw (bits/dim)",
              says="more dequantisation draws give a tighter bound"),
        # The ladder of families, with the full budgets only (after an epoch or two the networks rank anyhow).
        *(Claim(f"likelihood table, {vae}, -ELBO (nats/image)", "<", quick=False,
                than="likelihood table, mixture of 10 Bernoullis (EM), exact NLL (nats/image)",
                says="a continuous latent (the VAE's bound) beats the mixture's exact likelihood")
          for vae in ("MLP VAE", "conv VAE")),
        *(Claim("likelihood table, PixelCNN, exact NLL (nats/image)", "<", quick=False,
                than=f"likelihood table, {vae}, -L_100 (nats/image)",
                says="the PixelCNN's exact NLL is below the VAE's best bound")
          for vae in ("MLP VAE", "conv VAE")),
    ),
    "13_tensorflow_addons_migration": (
        Claim("tensorflow-addons replacements checked against NumPy", ">=",
              than="tensorflow-addons replacements checked against NumPy", index=0, than_index=1,
              says="every check of a replacement passed"),
        Claim("tensorflow-addons rows of the migration table with a passing check", ">=",
              than="tensorflow-addons rows of the migration table with a passing check", index=0, than_index=1,
              says="every row of the migration table is checked"),
    ),
}
