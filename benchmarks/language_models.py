"""Held-out bits per character against training wall time: character GRU vs causal Transformer.

Usage: python benchmarks/language_models.py [--seconds 150] [--context 64] [--models gru transformer]

Trains each model on the pydoc-topics corpus one epoch at a time until the
time budget is spent, printing after every epoch the wall time, the steps per
second and the held-out bits per character, so the two architectures can be
compared at equal compute on this machine. Prints figures; asserts nothing.
"""

import argparse
import time

import keras

import genai_tf
import genai_tf.config
from genai_tf import text
from genai_tf.models import BigramLM, CausalTransformer, CharGRU


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=150.0, help="training wall-time budget per model")
    parser.add_argument("--context", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--models", nargs="+", default=["gru", "transformer"], choices=["gru", "transformer"])
    args = parser.parse_args()

    genai_tf.config.quiet_tensorflow()
    train_text, test_text = text.load_text("train"), text.load_text("test")
    vocabulary = text.CharVocabulary(train_text)
    train_inputs, train_targets = text.make_windows(vocabulary.encode(train_text), args.context)
    test_inputs, test_targets = text.make_windows(vocabulary.encode(test_text), args.context)
    bigram = BigramLM(vocabulary.size)
    bigram.fit_counts(vocabulary.encode(train_text))
    print(f"bigram: held-out {text.bits_per_character(bigram.mean_nll(test_inputs, test_targets)):.3f} bits/char")

    builders = {
        "gru": (lambda: CharGRU(vocabulary.size, embedding_dim=64, units=256), 4e-3),
        "transformer": (
            lambda: CausalTransformer(vocabulary.size, context_length=args.context, model_dim=128, num_heads=4, num_layers=2),
            3e-3,
        ),
    }
    steps_per_epoch = len(train_inputs) // args.batch_size
    for name in args.models:
        build, learning_rate = builders[name]
        genai_tf.set_seed(0)
        model = build()
        model.compile(optimizer=keras.optimizers.Adam(learning_rate))
        start, epoch = time.perf_counter(), 0
        while time.perf_counter() - start < args.seconds:
            epoch_start = time.perf_counter()
            model.fit(train_inputs, train_targets, batch_size=args.batch_size, epochs=1, verbose=0)
            epoch_seconds = time.perf_counter() - epoch_start
            epoch += 1
            bits = text.bits_per_character(model.mean_nll(test_inputs, test_targets))
            print(
                f"{name}: epoch {epoch}, {time.perf_counter() - start:.0f} s, "
                f"{steps_per_epoch / epoch_seconds:.2f} steps/s (first epoch includes tracing), held-out {bits:.3f} bits/char",
                flush=True,
            )


if __name__ == "__main__":
    main()
