"""genai_tf.claims: numbers read from printed key figures, thresholds per mode, relations, and the check's messages."""

import pytest

from genai_tf import claims
from genai_tf.claims import Claim


@pytest.fixture
def table(monkeypatch):
    """A private claims table for a notebook "99_toy"."""
    toy = (
        Claim("share", ">=", full=0.04, quick=0.01, says="every digit is drawn"),
        Claim("FD, DCGAN", "<", than="FD, MLP GAN", quick=False),
        Claim("accuracy corrupted -> repaired", ">", than="accuracy corrupted -> repaired", index=1, than_index=0),
        Claim("ELBO", ">", full=-125.0),   # full mode only
    )
    monkeypatch.setitem(claims.CLAIMS, "99_toy", toy)
    claims.reset()
    yield toy
    claims.reset()


@pytest.mark.parametrize(("text", "index", "expected"), [
    ("0.064", 0, 0.064), ("0.544 -> 0.862", 1, 0.862), ("27.64 -> 2.26", -1, 2.26), ("6.0x", 0, 6.0),
    ("-108.3", 0, -108.3), ("1,439 s", 0, 1439.0), ("8 / 8, 0.884", 2, 0.884), ("1e-05", 0, 1e-5),
    ("102.2, 27.1, 254.3", 1, 27.1), ("+0.030 -> +0.005", 0, 0.03),
])
def test_number_reads_the_index_th_number_of_the_printed_text(text, index, expected):
    assert claims.number(text, index) == pytest.approx(expected)


def test_a_missing_number_is_named():
    with pytest.raises(ValueError, match=r"share has no number at index 2. Received: '0.1 -> 0.2'"):
        claims.number("0.1 -> 0.2", 2, "share")


def test_parse_key_figures_splits_at_the_last_colon_space():
    lines = ["x", "[key figure] beta-VAE beta=1.0: recon, KL: 114.3, 16.4", "  [key figure] a: 1  "]
    assert claims.parse_key_figures(lines) == {"beta-VAE beta=1.0: recon, KL": "114.3, 16.4", "a": "1"}


def test_thresholds_depend_on_the_mode_and_relations_on_the_other_figure(table):
    figures = {"share": "0.03", "FD, DCGAN": "61.4", "FD, MLP GAN": "75.2",
               "accuracy corrupted -> repaired": "0.544 -> 0.862", "ELBO": "-130.0"}
    full = {c.figure: status for c, status, _ in claims.evaluate("99_toy", figures, "full")}
    quick = {c.figure: status for c, status, _ in claims.evaluate("99_toy", figures, "quick")}
    assert full == {"share": "FAILED", "FD, DCGAN": "ok", "accuracy corrupted -> repaired": "ok", "ELBO": "FAILED"}
    assert quick == {"share": "ok", "accuracy corrupted -> repaired": "ok"}   # quick=False and full-only left out


def test_a_relation_that_fails_fails_and_nan_never_passes(table):
    figures = {"FD, DCGAN": "80.0", "FD, MLP GAN": "75.2", "share": "nan"}
    results = {c.figure: (status, line) for c, status, line in claims.evaluate("99_toy", figures, "full")}
    assert results["FD, DCGAN"] == ("FAILED", "FD, DCGAN [80] < FD, MLP GAN [75.2]")
    assert results["share"][0] == "FAILED"


def test_missing_figures_are_skipped_while_a_notebook_runs_and_fail_on_a_stored_run(table):
    assert claims.evaluate("99_toy", {"share": "0.05"}, "full") == [(table[0], "ok", "share [0.05] >= 0.04 (every digit is drawn)")]
    stored = claims.evaluate("99_toy", {"share": "0.05"}, "full", require=True)
    assert [status for _, status, _ in stored] == ["ok", "missing", "missing", "missing"]
    assert stored[1][2] == "FD, DCGAN: key figure(s) not printed: ['FD, DCGAN', 'FD, MLP GAN']"


def test_check_prints_each_claim_once_and_raises_naming_the_failures(table, capsys):
    figures = {"share": "0.05", "ELBO": "-130.0"}
    with pytest.raises(AssertionError, match=r"1 claim\(s\) of 99_toy failed in full mode: ELBO \[-130\] > -125$"):
        claims.check("99_toy", "full", figures)
    printed = capsys.readouterr().out
    assert "claim ok (full mode): share [0.05] >= 0.04 (every digit is drawn)\n" in printed
    assert "claim FAILED (full mode): ELBO [-130] > -125\n" in printed
    assert claims.check("99_toy", "full", figures) is None and capsys.readouterr().out == ""   # nothing new
    claims.reset()
    claims.check("99_toy", "full", {"share": "0.05"})
    assert capsys.readouterr().out.count("claim ok") == 1   # forgotten: checked again
    figures["share"] = "0.02"                                     # a re-run cell printed a new value
    with pytest.raises(AssertionError, match="share"):
        claims.check("99_toy", "full", figures)


def test_check_reads_what_key_figure_printed(table, monkeypatch, capsys):
    from genai_tf import config

    monkeypatch.setattr(config, "PRINTED_FIGURES", {})
    monkeypatch.setattr(claims, "PRINTED_FIGURES", config.PRINTED_FIGURES)
    config.key_figure("share", 0.0449, "{:.3f}")
    assert config.PRINTED_FIGURES == {"share": "0.045"}
    claims.check("99_toy", "full")
    printed = capsys.readouterr().out
    assert "[key figure] share: 0.045\n" in printed and "claim ok (full mode): share [0.045] >= 0.04" in printed


def test_bad_claims_and_notebooks_are_named():
    with pytest.raises(ValueError, match=r"op must be one of \['<', '<=', '>', '>='\]. Received: op='=='"):
        Claim("x", "==", full=1)
    with pytest.raises(ValueError, match=r"no claims are listed for notebook '98_none'"):
        claims.evaluate("98_none", {}, "full")


def test_a_key_figure_is_one_line():
    from genai_tf.config import key_figure

    with pytest.raises(ValueError, match="a key figure is one line"):
        key_figure("two\nlines", 1)
    with pytest.raises(ValueError, match="value without ': '"):
        key_figure("ratio", "a: b")


@pytest.mark.parametrize(("helper", "text", "expected"), [
    (claims.fell, "27.64 -> 2.26", "ok"), (claims.fell, "2.26 -> 27.64", "FAILED"), (claims.fell, "3.0 -> 3.0", "FAILED"),
    (claims.rose, "0.544 -> 0.862", "ok"), (claims.rose, "0.862 -> 0.544", "FAILED"),
    (claims.rose, "-140.2 -> -108.3", "ok"),
])
def test_fell_and_rose_compare_the_last_number_with_the_first(monkeypatch, helper, text, expected):
    monkeypatch.setitem(claims.CLAIMS, "99_toy", (helper("loss before -> after"),))
    ((claim, status, line),) = claims.evaluate("99_toy", {"loss before -> after": text}, "quick")
    assert (claim.index, claim.than_index, claim.than) == (-1, 0, "loss before -> after")
    assert status == expected
