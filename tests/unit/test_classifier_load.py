"""The intent classifier loads whatever node name Rasa's training cache saved it under.

What broke: after a step was added before the classifier in config.yml and the model was
retrained, Rasa's cache restored the classifier's folder under its new node name with the
file of its old one (`...Classifier6.skops` in `...Classifier5`), and the model loaded
nowhere (`rasa run`, `rasa shell`, `ldn-bot serve`: "Error initializing graph component").
"""

from __future__ import annotations

from pathlib import Path

import pytest
import skops.io as sio
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from sklearn.linear_model import LogisticRegression

from rasa_project.nlu import LogisticRegressionClassifier

NODE = "train_rasa_project.nlu.LogisticRegressionClassifier5"
EARLIER_NODE = "train_rasa_project.nlu.LogisticRegressionClassifier6"


def _saved_as(tmp_path: Path, file_name: str) -> tuple[LocalModelStorage, Resource]:
    (tmp_path / "storage").mkdir()
    storage = LocalModelStorage(tmp_path / "storage")
    resource = Resource(NODE)
    classifier = LogisticRegression().fit([[0.0], [1.0]], ["greet", "goodbye"])
    with storage.write_to(resource) as folder:
        sio.dump(classifier, folder / file_name)
    return storage, resource


def _load(storage: LocalModelStorage, resource: Resource) -> LogisticRegressionClassifier:
    context = ExecutionContext(GraphSchema({}), node_name="run_" + NODE)
    return LogisticRegressionClassifier.load({}, storage, resource, context)


def test_the_classifier_saved_under_an_earlier_node_name_loads(tmp_path: Path) -> None:
    storage, resource = _saved_as(tmp_path, f"{EARLIER_NODE}.skops")
    loaded = _load(storage, resource)
    assert list(loaded.clf.classes_) == ["goodbye", "greet"]


def test_the_classifier_saved_under_its_own_name_loads(tmp_path: Path) -> None:
    storage, resource = _saved_as(tmp_path, f"{NODE}.skops")
    assert list(_load(storage, resource).clf.classes_) == ["goodbye", "greet"]


def test_a_folder_without_a_classifier_does_not_load(tmp_path: Path) -> None:
    """As with Rasa's own load: no model with a classifier missing."""
    (tmp_path / "storage").mkdir()
    storage = LocalModelStorage(tmp_path / "storage")
    resource = Resource(NODE)
    with storage.write_to(resource):
        pass
    with pytest.raises(FileNotFoundError):
        _load(storage, resource)
