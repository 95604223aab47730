"""Held-out bits per character against epochs and wall time: character GRU vs causal Transformer.

Usage: python benchmarks/language_models.py [--epochs 8] [--context 64] [--models gru transformer]

Trains each model on the pydoc-topics corpus with the recipe of notebook 09
(windows drawn from anywhere in the text every epoch, Adam with beta_2 = 0.99,
100 warm-up steps then a cosine decay to a tenth of the peak learning rate,
gradients clipped at norm 1) and prints after every epoch the wall time,
the steps per second and the held-out bits per character, so the two
architectures can be compared at equal epochs and at equal time on this
machine. Prints figures; asserts nothing.
"""

import argparse
import time

import genai_tf
import genai_tf.config
from genai_tf import metrics, recipes, tokens
from genai_tf.datasets.text import load_text
from genai_tf.models import BigramLM

KEYS = {"gru": "char_gru", "transformer": "char_transformer"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=8, help="epochs per model (the cosine decay spans them)")
    parser.add_argument("--context", type=int, default=64)
    parser.add_argument("--models", nargs="+", default=["gru", "transformer"], choices=list(KEYS))
    args = parser.parse_args()

    genai_tf.config.quiet_tensorflow()
    train_text, test_text = load_text("train"), load_text("test")
    vocabulary = tokens.CharVocabulary(train_text)
    train_ids = vocabulary.encode(train_text)
    test_inputs, test_targets = tokens.make_windows(vocabulary.encode(test_text), args.context)
    bigram = BigramLM(vocabulary.size)
    bigram.fit_counts(train_ids)
    print(f"bigram: held-out {metrics.nats_to_bits(bigram.mean_nll(test_inputs, test_targets)):.3f} bits/char")

    for name in args.models:
        recipe = recipes.get(KEYS[name])   # the recipe of notebook 09 (genai_tf.recipes); --context changes the windows only
        genai_tf.set_seed(0)
        model = recipe.build(vocabulary.size, context_length=args.context)
        data = tokens.random_windows(train_ids, args.context, recipe.batch_size, seed=0)
        model.compile(optimizer=recipe.make_optimizer(args.epochs * len(data)))
        start = time.perf_counter()
        for epoch in range(1, args.epochs + 1):
            epoch_start = time.perf_counter()
            model.fit(data, epochs=1, verbose=0)
            epoch_seconds = time.perf_counter() - epoch_start
            bits = metrics.nats_to_bits(model.mean_nll(test_inputs, test_targets))
            print(
                f"{name}: epoch {epoch}, {time.perf_counter() - start:.0f} s, "
                f"{len(data) / epoch_seconds:.2f} steps/s (epoch 1 includes tracing), held-out {bits:.3f} bits/char",
                flush=True,
            )


if __name__ == "__main__":
    main()
