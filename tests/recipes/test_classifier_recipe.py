"""Tests of genai_tf.recipes.classifier: the evaluation classifier as a recipe the command line does not offer."""

import json

import keras
import numpy as np
import pytest

from genai_tf import classifier, datasets, recipes


def schedule_of(optimizer):
    """The optimizer's learning-rate schedule, rebuilt from its public config."""
    return keras.optimizers.schedules.deserialize(optimizer.get_config()["learning_rate"])


def test_the_classifier_recipe_scores_and_loads_the_cached_evaluation_classifier(evaluation_classifier, monkeypatch):
    network, path = evaluation_classifier
    recipe = recipes.get("evaluation_classifier")
    assert (recipe.unit, recipe.full_amount, recipe.batch_size, recipe.datasets) == ("epochs", 20, 64, ("mnist_sample",))
    assert recipe.offered is False and "evaluation_classifier" not in recipes.names(offered=True)
    scores = recipe.evaluate(network)
    test_images, test_labels = datasets.load("mnist_sample", "test", pixel_range=(-1, 1))
    by_hand = np.mean(classifier.predict_classes(test_images, network) == test_labels)
    assert scores == {"held_out_accuracy": pytest.approx(by_hand)} and scores["held_out_accuracy"] > 0.9
    # load_or_train is the cache of genai_tf.classifier: the model load_classifier gives and the record beside it.
    calls = []
    monkeypatch.setattr(classifier, "load_classifier", lambda **kwargs: calls.append(kwargs) or network)
    loaded, record = recipe.load_or_train(verbose=False)
    assert loaded is network and calls == [{"epochs": 20, "verbose": 0}]
    assert record == json.loads(classifier.record_path(path).read_text()) and record["epochs"] == 20


def test_the_classifier_recipe_builds_the_notebooks_network_and_draws_no_samples():
    recipe = recipes.get("evaluation_classifier")
    model = recipe.build(seed=0)
    assert model.compiled and model.output_shape == (None, 10)
    # Cosine decay over 20 epochs of ceil(4500 / 64) = 71 batches: the rate reaches 0 at step 1420.
    schedule = schedule_of(model.optimizer)
    assert float(schedule(0)) == pytest.approx(2e-3) and float(schedule(1420)) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match="classifies images and draws no samples. Received: n=3"):
        recipe.sample(model, 3)
