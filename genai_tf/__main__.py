"""``python -m genai_tf``: the command line of :mod:`genai_tf.cli` (train, sample, evaluate)."""

import sys

from genai_tf.cli import main

if __name__ == "__main__":
    sys.exit(main())
