"""Export trained models to ONNX and write the manifest that ``models.runtime`` checks.

Torch networks go through ``torch.onnx.export`` (TorchScript exporter, opset 17) and
scikit-learn models through skl2onnx. Every graph takes float32 standardised features;
the standardiser itself is stored in the manifest.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.base import BaseEstimator, ClassifierMixin

from models.runtime import CHECKSUM_KEY, MANIFEST_FORMAT, MANIFEST_NAME, manifest_checksum

__all__ = ["OPSET", "export_target_network", "export_regressor", "export_classifier", "write_manifest", "sha256"]

logger = logging.getLogger(__name__)

OPSET = 17
TARGET_INPUTS = ("source", "pad")
TARGET_OUTPUT = "target"


def sha256(path: Path) -> str:
    """Return the hex SHA-256 of a file."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def export_target_network(model: torch.nn.Module, feature_count: int, path: Path) -> dict[str, Any]:
    """Export a ``(source, pad) -> target`` network; return its manifest entry without the design."""
    model.eval()
    example = (torch.zeros(2, feature_count), torch.zeros(2, 3))
    torch.onnx.export(
        model,
        example,
        str(path),
        input_names=list(TARGET_INPUTS),
        output_names=[TARGET_OUTPUT],
        dynamic_axes={"source": {0: "clips"}, "pad": {0: "clips"}, TARGET_OUTPUT: {0: "clips"}},
        opset_version=OPSET,
        dynamo=False,
    )
    onnx.checker.check_model(onnx.load(str(path)))
    return {"file": path.name, "inputs": list(TARGET_INPUTS), "output": TARGET_OUTPUT}


def _convert(model: BaseEstimator, feature_count: int, options: dict | None, name: str) -> onnx.ModelProto:
    graph = convert_sklearn(
        model,
        initial_types=[("features", FloatTensorType([None, feature_count]))],
        target_opset={"": OPSET, "ai.onnx.ml": 3},
        options=options,
    )
    # skl2onnx names the graph with a random UUID; a fixed name keeps retrained files byte-identical.
    graph.graph.name = name
    return graph


def export_regressor(model: BaseEstimator, feature_count: int, path: Path) -> dict[str, Any]:
    """Export a scikit-learn PAD regressor; return its manifest entry."""
    graph = _convert(model, feature_count, None, path.stem)
    path.write_bytes(graph.SerializeToString())
    return {"file": path.name, "inputs": ["features"], "output": graph.graph.output[0].name}


def export_classifier(model: ClassifierMixin, feature_count: int, path: Path, class_names: list[str]) -> dict[str, Any]:
    """Export a scikit-learn classifier with a plain probability tensor output; return its manifest entry.

    ``class_names[i]`` names the class label ``model.classes_[i]``.
    """
    graph = _convert(model, feature_count, {id(model): {"zipmap": False}}, path.stem)
    path.write_bytes(graph.SerializeToString())
    outputs = [output.name for output in graph.graph.output]
    probability_output = next(name for name in outputs if "prob" in name)
    return {"file": path.name, "inputs": ["features"], "output": probability_output, "classes": list(class_names)}


def write_manifest(directory: Path, manifest: dict[str, Any]) -> Path:
    """Add the format, the SHA-256 of every listed model file and the manifest checksum, then write ``manifest.json``."""
    files = {}
    for entry in manifest["models"].values():
        files[entry["file"]] = sha256(directory / entry["file"])
    manifest = {"format": MANIFEST_FORMAT, **manifest, "files": files}
    # Round trip through JSON so that the checksum covers exactly what the loader reads.
    manifest = json.loads(json.dumps(manifest, default=_json_default))
    manifest[CHECKSUM_KEY] = manifest_checksum(manifest)
    path = directory / MANIFEST_NAME
    path.write_text(json.dumps(manifest, indent=1, default=_json_default) + "\n", encoding="utf-8")
    return path


def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    raise TypeError(f"Cannot write {type(value).__name__} to the manifest")
