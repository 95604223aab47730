"""Notebooks 05 and 06: their claims pass a good run and fail a bad one, and name figures the notebooks print."""

import re
from pathlib import Path

import numpy as np
import pytest

from genai_tf import claims

ROOT = Path(__file__).resolve().parent.parent

GOOD = {
    "05_conditional_gan": {
        "conditional GAN, label agreement": "0.952",
        "conditional GAN, label agreement untrained -> trained": "0.100 -> 0.952",
        "conditional GAN, FD to held-out images untrained -> trained": "520.4 -> 60.2",
        "conditional GAN, smallest mode-seeking ratio relative to real images": "0.96",
    },
    "06_wgan_gp": {
        "WGAN-GP, FD of 500 samples step 0 -> last": "537.9 -> 160.3",
        "WGAN-GP, W1 estimate first epoch -> last": "27.64 -> 2.26",
        "WGAN-GP, gradient penalty first epoch -> last": "0.617 -> 0.015",
        "WGAN-GP, smallest digit share": "0.034",
    },
}

# One bad run per claim: (figure, its printed text), each of which must fail its claim in full mode.
BAD = [
    ("05_conditional_gan", "conditional GAN, label agreement", "0.897"),                  # below the curriculum's 0.90
    ("05_conditional_gan", "conditional GAN, label agreement untrained -> trained", "0.100 -> 0.100"),
    ("05_conditional_gan", "conditional GAN, FD to held-out images untrained -> trained", "520.4 -> 530.0"),
    ("05_conditional_gan", "conditional GAN, smallest mode-seeking ratio relative to real images", "0.05"),  # collapsed
    ("06_wgan_gp", "WGAN-GP, FD of 500 samples step 0 -> last", "537.9 -> 540.0"),
    ("06_wgan_gp", "WGAN-GP, W1 estimate first epoch -> last", "2.26 -> 27.64"),
    ("06_wgan_gp", "WGAN-GP, gradient penalty first epoch -> last", "0.015 -> 0.617"),
    ("06_wgan_gp", "WGAN-GP, smallest digit share", "0.000"),                             # a digit never drawn
]


@pytest.mark.parametrize("notebook", sorted(GOOD))
def test_a_good_run_passes_every_claim_in_full_mode(notebook):
    results = claims.evaluate(notebook, GOOD[notebook], "full", require=True)
    assert len(results) == len(claims.CLAIMS[notebook])
    assert all(status == "ok" for _, status, _ in results), results


@pytest.mark.parametrize("notebook, figure, text", BAD, ids=[f"{n[:2]}-{f}" for n, f, _ in BAD])
def test_each_claim_fails_a_bad_run(notebook, figure, text):
    figures = {**GOOD[notebook], figure: text}
    failed = [line for _, status, line in claims.evaluate(notebook, figures, "full") if status == "FAILED"]
    assert len(failed) == 1 and failed[0].startswith(figure), failed


def test_the_full_threshold_of_05_is_the_curriculums_and_quick_ones_are_above_chance():
    by_figure = {claim.figure: claim for claim in claims.CLAIMS["05_conditional_gan"]}
    assert by_figure["conditional GAN, label agreement"].full == 0.90
    assert by_figure["conditional GAN, label agreement"].quick > 0.1   # chance for ten equally frequent digits
    # An untrained generator gives about 0.1 of the real-image ratio (measured: 0.08-0.17), so 0.2 can fail;
    # the quick run's 150 steps with the projection discriminator reach 0.33.
    assert by_figure["conditional GAN, smallest mode-seeking ratio relative to real images"].quick >= 0.2
    quick_05 = [c for c in claims.CLAIMS["05_conditional_gan"] if c.applies("quick")]
    quick_06 = [c for c in claims.CLAIMS["06_wgan_gp"] if c.applies("quick")]
    assert len(quick_05) == 4 and len(quick_06) == 1


def test_an_untrained_run_fails_the_quick_claims():
    untrained = {
        "conditional GAN, label agreement": "0.100",
        "conditional GAN, label agreement untrained -> trained": "0.100 -> 0.100",
        "conditional GAN, FD to held-out images untrained -> trained": "520.4 -> 520.4",
        "conditional GAN, smallest mode-seeking ratio relative to real images": "0.08",
    }
    results = claims.evaluate("05_conditional_gan", untrained, "quick")
    assert [status for _, status, _ in results] == ["FAILED"] * 4
    results = claims.evaluate("06_wgan_gp", {"WGAN-GP, FD of 500 samples step 0 -> last": "537.9 -> 537.9"}, "quick")
    assert [status for _, status, _ in results] == ["FAILED"]


@pytest.mark.parametrize("notebook", ["05_conditional_gan", "06_wgan_gp"])
def test_every_claimed_figure_is_printed_and_checked_by_the_notebook(notebook):
    source = (ROOT / "notebooks" / f"{notebook}.md").read_text(encoding="utf-8")
    printed = set(re.findall(r'key_figure\(\s*f?"([^"]+)"', source))
    printed = {name.replace("{N_CURVE}", "500") for name in printed}
    assert re.search(r"N_CURVE = 500\b", source) or notebook != "06_wgan_gp"
    for claim in claims.CLAIMS[notebook]:
        assert set(claim.names()) <= printed, (claim.figure, sorted(printed))
    assert f'claims.check("{notebook}")' in source


def notebook_function(notebook, name):
    """The source of a top-level function defined in a notebook's text, executed with NumPy as ``np``."""
    source = (ROOT / "notebooks" / f"{notebook}.md").read_text(encoding="utf-8")
    match = re.search(rf"^def {name}\(.*?(?=^\S)", source, flags=re.S | re.M)
    assert match, f"{notebook} defines no {name}"
    namespace = {"np": np}
    exec(match.group(0), namespace)
    return namespace[name]


def test_the_notebooks_mode_seeking_ratio_by_hand():
    ratio = notebook_function("05_conditional_gan", "mode_seeking_ratio")
    images_1, images_2 = np.full((2, 2, 2, 1), 0.5), np.zeros((2, 2, 2, 1))
    images_2[1] = -0.5                          # the second pair differs by 1.0 in every pixel
    z1, z2 = np.ones((2, 4)), -np.ones((2, 4))  # codes 2 apart in every coordinate
    np.testing.assert_allclose(ratio(images_1, images_2, z1, z2), [0.5 / 2, 1.0 / 2])
    # A collapsed class (the same image for both codes) has ratio 0; halving the codes' distance doubles it.
    np.testing.assert_allclose(ratio(images_1, images_1, z1, z2), [0.0, 0.0])
    np.testing.assert_allclose(ratio(images_1, images_2, z1 / 2, z2 / 2), [0.5, 1.0])
