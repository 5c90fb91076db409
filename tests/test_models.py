"""Tests of the PAD table, the ONNX export and the onnxruntime loader of the emotion models."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from models.emotions import EMOTIONAL_STYLES, EMOTIONS, STYLE_TO_EMOTION, emotion_pad, nearest_emotion, validate_pad
from models.runtime import CHECKSUM_KEY, DEFAULT_DIRECTORY, MANIFEST_NAME, EmotionModels, ModelError, manifest_checksum

FEATURE_COUNT = 7


# PAD table


def test_pad_table_in_range() -> None:
    for name, emotion in EMOTIONS.items():
        assert emotion.name == name
        assert validate_pad(emotion.pad) == emotion.pad
        assert emotion.source


def test_pad_table_covers_styles() -> None:
    for style in EMOTIONAL_STYLES:
        assert STYLE_TO_EMOTION[style] in EMOTIONS
    assert emotion_pad("normal") == (0.0, 0.0, 0.0)
    assert emotion_pad("sad")[0] < 0
    assert emotion_pad("angry")[1] > 0


def test_pad_table_marks_estimates() -> None:
    for style in ("not-confident", "active", "exhausted"):
        assert EMOTIONS[style].estimated, style
    for style in ("happy", "sad", "angry", "proud", "tired"):
        assert not EMOTIONS[style].estimated, style


def test_nearest_emotion_returns_own_name() -> None:
    for name in ("happy", "sad", "angry", "proud", "relaxed", "bored"):
        assert nearest_emotion(EMOTIONS[name].pad) == name
    assert nearest_emotion((-0.6, -0.3, -0.3), candidates=EMOTIONAL_STYLES) == "sad"


@pytest.mark.parametrize(
    ("pad", "message"),
    [
        ((0.0, 1.3, 0.0), "PAD value 1.3 for arousal is outside [-1, 1]"),
        ((-1.01, 0.0, 0.0), "for pleasure is outside [-1, 1]"),
        ((0.0, 0.0, math.nan), "NaN for dominance"),
        ((0.0, 0.0), "must have 3 entries"),
        ((0.0, "high", 0.0), "for arousal is not a number"),
    ],
)
def test_validate_pad_rejects(pad: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        validate_pad(pad)


def test_emotion_pad_unknown_name() -> None:
    with pytest.raises(KeyError, match="Unknown emotion 'gleeful'"):
        emotion_pad("gleeful")


# Export: a tiny model set trained in the test and written through the export functions


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Train a tiny network, regressor and classifier on synthetic data and export them."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    pytest.importorskip("skl2onnx")
    from training import analysis, export, networks
    from training.train import LICENCE

    torch.set_num_threads(1)
    rng = np.random.default_rng(3)
    features = rng.normal(size=(48, FEATURE_COUNT))
    pad = np.clip(rng.normal(scale=0.5, size=(48, 3)), -1, 1)
    groups = np.repeat(np.arange(6), 8)
    data = networks.TrainingSet(features=features, pad=pad, groups=groups)
    settings = networks.TrainSettings(epochs=20, hidden=16, content_size=4)
    content_model = networks.train_content_emotion(data, settings)
    delta_model = networks.train_delta(data, settings)
    regressor = analysis.make_regressor("svr").fit(features.astype(np.float32), pad)
    labels = np.arange(48) % len(EMOTIONAL_STYLES)
    # The classifier takes the residual input, so the fixture covers both analysis input kinds.
    residual_input = analysis.with_residual(features.astype(np.float32), content_model)
    classifier = analysis.make_classifier("logistic").fit(residual_input, labels)

    directory = tmp_path_factory.mktemp("models")
    target_entry = export.export_target_network(content_model, FEATURE_COUNT, directory / "target_features.onnx")
    delta_entry = export.export_target_network(delta_model, FEATURE_COUNT, directory / "delta.onnx")
    pad_entry = export.export_regressor(regressor, FEATURE_COUNT, directory / "pad_regressor.onnx")
    neutral_entry = export.export_target_network(content_model, FEATURE_COUNT, directory / "neutral_features.onnx")
    style_entry = export.export_classifier(
        classifier, 2 * FEATURE_COUNT, directory / "style_classifier.onnx", list(EMOTIONAL_STYLES)
    )
    style_entry["input_kind"] = "features+residual"
    from synthesis.features import FEATURE_EXTRACTOR_VERSION

    export.write_manifest(
        directory,
        {
            "feature_extractor_version": FEATURE_EXTRACTOR_VERSION,
            "feature_names": [f"feature_{index}" for index in range(FEATURE_COUNT)],
            "scaler": {"mean": [0.0] * FEATURE_COUNT, "scale": [1.0] * FEATURE_COUNT},
            "models": {"target": target_entry, "pad": pad_entry, "style": style_entry, "neutral": neutral_entry},
            "pad_table": {name: {"pad": list(emotion.pad)} for name, emotion in EMOTIONS.items()},
            "licence": LICENCE,
        },
    )
    return {
        "directory": directory,
        "content_model": content_model,
        "delta_model": delta_model,
        "delta_file": directory / "delta.onnx",
        "regressor": regressor,
        "classifier": classifier,
        "features": features.astype(np.float32),
    }


def test_onnx_matches_torch(tiny_models: dict) -> None:
    import onnxruntime
    from training import networks

    source = tiny_models["features"][:10]
    pad = np.linspace(-1, 1, 30, dtype=np.float32).reshape(10, 3)
    models = EmotionModels.load(tiny_models["directory"])
    expected = networks.predict(tiny_models["content_model"], source, pad)
    np.testing.assert_allclose(models.target_features(source, pad), expected, atol=1e-5)

    session = onnxruntime.InferenceSession(str(tiny_models["delta_file"]), providers=["CPUExecutionProvider"])
    (delta,) = session.run(None, {"source": source, "pad": pad})
    np.testing.assert_allclose(delta, networks.predict(tiny_models["delta_model"], source, pad), atol=1e-5)


def test_onnx_matches_sklearn(tiny_models: dict) -> None:
    features = tiny_models["features"][:12]
    models = EmotionModels.load(tiny_models["directory"])
    expected_pad = np.clip(tiny_models["regressor"].predict(features), -1, 1)
    np.testing.assert_allclose(models.estimate_pad(features), expected_pad, atol=1e-5)
    from training.analysis import with_residual

    expected_probabilities = tiny_models["classifier"].predict_proba(with_residual(features, tiny_models["content_model"]))
    np.testing.assert_allclose(models.style_probabilities(features), expected_probabilities, atol=1e-5)


@pytest.mark.parametrize("name", ["ridge", "gradient-boosting", "svr", "mlp"])
def test_regressor_candidates_export(name: str, tmp_path: Path) -> None:
    pytest.importorskip("skl2onnx")
    import onnxruntime
    from training import analysis, export

    rng = np.random.default_rng(5)
    features = rng.normal(size=(40, FEATURE_COUNT)).astype(np.float32)
    pad = np.tanh(features[:, :3] + 0.1 * rng.normal(size=(40, 3)))
    model = analysis.make_regressor(name).fit(features, pad)
    entry = export.export_regressor(model, FEATURE_COUNT, tmp_path / "model.onnx")
    session = onnxruntime.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    (result,) = session.run([entry["output"]], {"features": features})
    np.testing.assert_allclose(result.reshape(-1, 3), model.predict(features), atol=1e-5)


@pytest.mark.parametrize("name", ["logistic", "svc", "random-forest", "gradient-boosting", "mlp"])
def test_classifier_candidates_export(name: str, tmp_path: Path) -> None:
    pytest.importorskip("skl2onnx")
    import onnxruntime
    from training import analysis, export

    rng = np.random.default_rng(6)
    features = rng.normal(size=(64, FEATURE_COUNT)).astype(np.float32)
    labels = np.argmax(features[:, :4], axis=1)
    model = analysis.make_classifier(name).fit(features, labels)
    entry = export.export_classifier(model, FEATURE_COUNT, tmp_path / "model.onnx", ["a", "b", "c", "d"])
    session = onnxruntime.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    (result,) = session.run([entry["output"]], {"features": features})
    np.testing.assert_allclose(result, model.predict_proba(features), atol=1e-5)


def test_sklearn_export_byte_identical(tmp_path: Path) -> None:
    pytest.importorskip("skl2onnx")
    from training import analysis, export

    rng = np.random.default_rng(8)
    features = rng.normal(size=(30, FEATURE_COUNT)).astype(np.float32)
    model = analysis.make_regressor("gradient-boosting").fit(features, np.tanh(features[:, :3]))
    first = tmp_path / "first" / "pad_regressor.onnx"
    second = tmp_path / "second" / "pad_regressor.onnx"
    first.parent.mkdir()
    second.parent.mkdir()
    export.export_regressor(model, FEATURE_COUNT, first)
    export.export_regressor(model, FEATURE_COUNT, second)
    assert first.read_bytes() == second.read_bytes()


# Loader checks, on a copy of a model folder


def _copy(directory: Path, tmp_path: Path) -> Path:
    target = tmp_path / "models"
    shutil.copytree(directory, target)
    return target


def _rewrite_manifest(directory: Path, change, checksum: bool = True) -> None:
    """Apply ``change`` to the manifest; with ``checksum`` the result looks like another training run's manifest."""
    path = directory / MANIFEST_NAME
    manifest = json.loads(path.read_text())
    change(manifest)
    if checksum:
        manifest[CHECKSUM_KEY] = manifest_checksum(manifest)
    path.write_text(json.dumps(manifest))


def test_loader_rejects_edited_scaler(tiny_models: dict, tmp_path: Path) -> None:
    directory = _copy(tiny_models["directory"], tmp_path)
    _rewrite_manifest(directory, lambda manifest: manifest["scaler"]["mean"].__setitem__(0, 7.5), checksum=False)
    with pytest.raises(ModelError, match="was edited or is damaged: its manifest_sha256 does not match.*reinstall"):
        EmotionModels.load(directory)


def test_loader_rejects_missing_checksum(tiny_models: dict, tmp_path: Path) -> None:
    directory = _copy(tiny_models["directory"], tmp_path)
    _rewrite_manifest(directory, lambda manifest: manifest.pop(CHECKSUM_KEY), checksum=False)
    with pytest.raises(ModelError, match="manifest_sha256 does not match"):
        EmotionModels.load(directory)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda manifest: manifest.update({"scaler": None}), "scaler is NoneType, expected a JSON object"),
        (lambda manifest: manifest.update({"feature_names": 5}), "feature_names is int, expected a JSON array"),
        (lambda manifest: manifest["scaler"].pop("mean"), "is malformed \\(KeyError\\('mean'\\)\\)"),
        (lambda manifest: manifest["scaler"]["scale"].__setitem__(2, 0.0), "scales finite and positive"),
        (lambda manifest: manifest["scaler"]["mean"].__setitem__(1, float("nan")), "means must be finite"),
    ],
)
def test_loader_rejects_malformed_manifest(tiny_models: dict, tmp_path: Path, change, message: str) -> None:
    directory = _copy(tiny_models["directory"], tmp_path)
    _rewrite_manifest(directory, change)
    with pytest.raises(ModelError, match=message):
        EmotionModels.load(directory)


def test_loader_rejects_truncated_onnx(tiny_models: dict, tmp_path: Path) -> None:
    from training.export import sha256

    directory = _copy(tiny_models["directory"], tmp_path)
    path = directory / "pad_regressor.onnx"
    path.write_bytes(path.read_bytes()[:200])
    _rewrite_manifest(directory, lambda manifest: manifest["files"].update({path.name: sha256(path)}))
    models = EmotionModels.load(directory)
    with pytest.raises(ModelError, match="pad_regressor.onnx could not be loaded"):
        models.estimate_pad(np.zeros(FEATURE_COUNT))


def test_loader_rejects_other_feature_version(tiny_models: dict, tmp_path: Path) -> None:
    directory = _copy(tiny_models["directory"], tmp_path)
    _rewrite_manifest(directory, lambda manifest: manifest.update({"feature_extractor_version": "0.0.1"}))
    with pytest.raises(ModelError, match="trained on feature extractor version 0.0.1.*make train"):
        EmotionModels.load(directory)


def test_loader_rejects_missing_file(tiny_models: dict, tmp_path: Path) -> None:
    directory = _copy(tiny_models["directory"], tmp_path)
    (directory / "style_classifier.onnx").unlink()
    with pytest.raises(ModelError, match="style_classifier.onnx listed in manifest.json not found; reinstall"):
        EmotionModels.load(directory)


def test_loader_rejects_missing_neutral_model(tiny_models: dict, tmp_path: Path) -> None:
    directory = _copy(tiny_models["directory"], tmp_path)
    _rewrite_manifest(directory, lambda manifest: manifest["models"].pop("neutral"))
    with pytest.raises(ModelError, match="lists no file for the neutral model"):
        EmotionModels.load(directory)


def test_loader_rejects_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="Model folder .*no-models does not exist or is not a folder"):
        EmotionModels.load(tmp_path / "no-models")


def test_loader_rejects_missing_manifest(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="manifest.json not found"):
        EmotionModels.load(tmp_path)


def test_loader_rejects_hash_mismatch(tiny_models: dict, tmp_path: Path) -> None:
    directory = _copy(tiny_models["directory"], tmp_path)
    path = directory / "target_features.onnx"
    content = bytearray(path.read_bytes())
    content[-1] ^= 0xFF
    path.write_bytes(bytes(content))
    with pytest.raises(ModelError, match="target_features.onnx is corrupt: SHA-256"):
        EmotionModels.load(directory)


def test_loader_rejects_invalid_inputs(tiny_models: dict) -> None:
    models = EmotionModels.load(tiny_models["directory"])
    source = np.zeros(FEATURE_COUNT)
    with pytest.raises(ValueError, match=r"PAD value 1.3 for arousal is outside \[-1, 1\]"):
        models.target_features(source, (0.0, 1.3, 0.0))
    with pytest.raises(ValueError, match="PAD value nan for pleasure"):
        models.target_features(source, (math.nan, 0.0, 0.0))
    with pytest.raises(ValueError, match=r"shape \(7,\) or \(n, 7\)"):
        models.estimate_pad(np.zeros(FEATURE_COUNT + 1))
    bad = source.copy()
    bad[2] = np.inf
    with pytest.raises(ValueError, match="non-finite value for 'feature_2'"):
        models.classify(bad)


def test_runtime_shapes(tiny_models: dict) -> None:
    models = EmotionModels.load(tiny_models["directory"])
    source = tiny_models["features"][0]
    assert models.target_features(source, (0.5, 0.5, 0.5)).shape == (FEATURE_COUNT,)
    assert models.target_features(np.stack([source, source]), (0.5, 0.5, 0.5)).shape == (2, FEATURE_COUNT)
    assert models.estimate_pad(source).shape == (3,)
    name, probabilities = models.classify(source)
    assert name in EMOTIONAL_STYLES
    assert set(probabilities) == set(EMOTIONAL_STYLES)
    assert abs(sum(probabilities.values()) - 1.0) < 1e-4
    assert name == max(probabilities, key=probabilities.get)


def test_runtime_sessions_thread_safe(tiny_models: dict) -> None:
    from concurrent.futures import ThreadPoolExecutor

    models = EmotionModels.load(tiny_models["directory"])
    features = tiny_models["features"][:5]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: models.estimate_pad(features), range(8)))
    for result in results:
        np.testing.assert_array_equal(result, results[0])
    assert set(models._sessions) == {"pad"}


# The bundled models


@pytest.fixture(scope="module")
def bundled() -> EmotionModels:
    if not (DEFAULT_DIRECTORY / MANIFEST_NAME).exists():
        pytest.skip("models/manifest.json not present; build it with `make train`")
    return EmotionModels.load()


def test_bundled_manifest_matches_features(bundled: EmotionModels) -> None:
    from synthesis.features import FEATURE_NAMES

    assert bundled.feature_names == tuple(FEATURE_NAMES)
    assert "CC BY-NC 4.0" in bundled.manifest["licence"]
    total = sum(path.stat().st_size for path in DEFAULT_DIRECTORY.iterdir() if path.is_file())
    assert total < 5 * 1024 * 1024


def test_bundled_copy_rejects_hash_mismatch(bundled: EmotionModels, tmp_path: Path) -> None:
    directory = tmp_path / "models"
    directory.mkdir()
    for name in [MANIFEST_NAME, *bundled.manifest["files"]]:
        shutil.copy(DEFAULT_DIRECTORY / name, directory / name)
    with (directory / "pad_regressor.onnx").open("ab") as stream:
        stream.write(b"\0")
    with pytest.raises(ModelError, match="pad_regressor.onnx is corrupt"):
        EmotionModels.load(directory)


def _clip_features(paths: list[Path]) -> np.ndarray:
    from synthesis.bvh import read_bvh
    from synthesis.features import clip_features
    from synthesis.roles import detect_roles

    rows = []
    for path in paths:
        motion = read_bvh(path)
        rows.append(clip_features(motion, detect_roles(motion.skeleton)))
    return np.stack(rows)


def test_bundled_pad_on_sad_and_angry_clips(bundled: EmotionModels, bandai1_dir: Path) -> None:
    sad = sorted((bandai1_dir / "data").glob("dataset-1_*_sad_*.bvh"))
    angry = sorted((bandai1_dir / "data").glob("dataset-1_*_angry_*.bvh"))
    assert len(sad) >= 8
    assert len(angry) >= 8
    sad_pad = bundled.estimate_pad(_clip_features(sad))
    angry_pad = bundled.estimate_pad(_clip_features(angry))
    assert sad_pad[:, 0].mean() < 0
    assert angry_pad[:, 1].mean() > 0
