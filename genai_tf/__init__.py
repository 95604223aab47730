"""genai_tf: correct Keras 3 models, losses and training steps for the curriculum.

Importing the package hides TensorFlow's C++ start-up chatter
(``TF_CPP_MIN_LOG_LEVEL=2``) unless the variable is already set.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from genai_tf.config import budget, get_mode, key_figure, set_seed, setup_notebook  # noqa: E402

__version__ = "0.1.0"

__all__ = ["budget", "get_mode", "key_figure", "set_seed", "setup_notebook", "__version__"]
