"""Tests of genai_tf.cli.parser: model names, datasets and family flags from the registry; errors that list the choices."""

import subprocess
import sys

import pytest

from genai_tf import cli, recipes
from genai_tf.cli import parser


def test_the_parser_offers_the_registrys_models_datasets_and_flags():
    built = parser.build_parser()
    commands = next(action for action in built._actions if action.dest == "command").choices
    assert tuple(commands) == ("train", "sample", "evaluate")
    for command in commands:
        model_choices = next(a for a in commands[command]._actions if a.dest == "model").choices
        assert tuple(model_choices) == recipes.names(offered=True) == parser.models()
    train_flags = {a.dest: a for a in commands["train"]._actions}
    assert tuple(train_flags["dataset"].choices) == (
        "mnist_sample", "mnist", "fashion_mnist", "pydoc_topics", "bach_chorales"
    )
    assert {"latent_dim", "chorales"} <= set(train_flags) and "prompt" not in train_flags
    sample_flags = {a.dest for a in commands["sample"]._actions}
    assert {"length", "prompt", "temperature", "top_k", "top_p"} <= sample_flags and "latent_dim" not in sample_flags
    # The evaluation classifier is a recipe the command line does not offer (it draws no samples).
    assert "evaluation_classifier" in recipes.names() and "evaluation_classifier" not in parser.models()


def test_argument_problem_asks_the_recipe():
    assert parser.argument_problem("dcgan", "train", dataset="pydoc_topics") == (
        "--dataset", "dcgan trains on mnist_sample or mnist or fashion_mnist. Received: 'pydoc_topics'"
    )
    assert parser.argument_problem("melody_gru", "evaluate", num_samples=1) is None   # melodies: 1 is enough
    assert parser.argument_problem("conv_vae", "evaluate", num_samples=9) == (
        "--num-samples", "must be at least 10 for the metrics. Received: 9"
    )
    assert parser.argument_problem("conv_vae", "evaluate", num_samples=10) is None
    with pytest.raises(ValueError, match="Unknown model 'vqvae'. Known models: mlp_gan, dcgan"):
        parser.argument_problem("vqvae", "train")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "vqvae"], "argument MODEL: invalid choice: 'vqvae' (choose from 'mlp_gan', 'dcgan', "
         "'conditional_gan', 'wgan_gp', 'mlp_vae', 'conv_vae', 'pixelcnn', 'realnvp', 'char_gru', 'char_transformer', "
         "'melody_gru')"),
        (["evaluate", "gan"], "argument MODEL: invalid choice: 'gan'"),
        (["train", "dcgan", "--dataset", "cifar10"], "argument --dataset: invalid choice: 'cifar10' (choose from "
         "'mnist_sample', 'mnist', 'fashion_mnist', 'pydoc_topics', 'bach_chorales')"),
        (["train", "char_gru", "--dataset", "mnist"],
         "argument --dataset: char_gru trains on pydoc_topics. Received: 'mnist'"),
        (["train", "dcgan", "--dataset", "bach_chorales"], "argument --dataset: dcgan trains on mnist_sample or "
         "mnist or fashion_mnist. Received: 'bach_chorales'"),
        (["train", "char_transformer", "--latent-dim", "8"],
         "argument --latent-dim: applies to mlp_gan, dcgan, conditional_gan, wgan_gp, mlp_vae, conv_vae only"),
        (["train", "char_gru", "--chorales", "5"], "argument --chorales: applies to melody_gru only, not to char_gru"),
        (["sample", "melody_gru", "--prompt", "C D E"], "argument --prompt: applies to char_gru, char_transformer only"),
        (["sample", "dcgan", "--top-k", "5"], "argument --top-k: applies to char_gru, char_transformer, melody_gru"),
        (["sample", "conv_vae", "--temperature", "0.5"], "argument --temperature: applies to pixelcnn, realnvp, "
         "char_gru, char_transformer, melody_gru only, not to conv_vae"),
        (["train", "pixelcnn", "--latent-dim", "4"], "argument --latent-dim: applies to mlp_gan, dcgan, "
         "conditional_gan, wgan_gp, mlp_vae, conv_vae only, not to pixelcnn"),
        (["sample", "realnvp", "--temperature", "0"], "argument --temperature: must be in (0.0, inf). Received: 0.0"),
        (["sample", "char_gru", "--top-p", "1.5"], "argument --top-p: must be in (0.0, 1.0]. Received: 1.5"),
        (["sample", "char_gru", "--temperature", "0"],
         "argument --temperature: must be in (0.0, inf). Received: 0.0"),
        (["evaluate", "char_gru", "--num-samples", "50"], "argument --num-samples: char_gru is scored on held-out "
         "text and draws no samples"),
        (["train", "dcgan", "--epochs", "0"], "argument --epochs: must be a positive integer. Received: 0"),
        (["train", "dcgan", "--batch-size", "-8"], "argument --batch-size: must be a positive integer. Received: -8"),
        (["train", "dcgan", "--latent-dim", "two"],
         "argument --latent-dim: must be a positive integer. Received: 'two'"),
        (["train", "dcgan", "--epochs", "2", "--steps", "9"], "argument --steps: not allowed with argument --epochs"),
        (["sample", "dcgan", "--seed", "-1"],
         "argument --seed: must be an integer in [0, 4294967295] (seeds are below 2**32). Received: -1"),
        (["evaluate", "dcgan", "--num-samples", "3"], "argument --num-samples: must be at least 10"),
        (["fit", "dcgan"], "invalid choice: 'fit' (choose from 'train', 'sample', 'evaluate')"),
    ],
)
def test_bad_arguments_exit_with_status_2_and_say_what_is_valid(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_the_python_functions_check_options_as_the_command_line_does(tmp_path):
    # The same rules (cli.argument_problem) as a ValueError, before anything is read or written.
    with pytest.raises(ValueError, match="latent_dim: applies to mlp_gan, .* only, not to char_gru"):
        cli.train("char_gru", latent_dim=8, outdir=tmp_path / "a")
    with pytest.raises(ValueError, match="dataset: melody_gru trains on bach_chorales. Received: 'mnist'"):
        cli.train("melody_gru", dataset="mnist", outdir=tmp_path / "b")
    with pytest.raises(ValueError, match="prompt: applies to char_gru, char_transformer only, not to dcgan"):
        cli.sample("dcgan", prompt="x", outdir=tmp_path / "c")
    with pytest.raises(ValueError, match="num_samples: char_gru is scored on held-out text"):
        cli.evaluate("char_gru", num_samples=5, outdir=tmp_path / "d")
    with pytest.raises(ValueError, match="num_samples: must be at least 10"):
        cli.evaluate("mlp_gan", num_samples=5, outdir=tmp_path / "e")
    assert not any(tmp_path.iterdir())
    assert cli.argument_problem("melody_gru", "sample", temperature=0.7, top_p=0.9, chorales=None) is None


def test_python_dash_m_help():
    result = subprocess.run([sys.executable, "-m", "genai_tf", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert "{train,sample,evaluate}" in result.stdout and "usage: python -m genai_tf" in result.stdout


def test_python_dash_m_help_imports_no_tensorflow():
    code = ("import sys\nfrom genai_tf.cli import parser\nparser.build_parser().format_help()\n"
            "print(sorted(name for name in ('tensorflow', 'keras') if name in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stderr
