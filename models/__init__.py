"""Bundled ONNX emotion models and the onnxruntime code that runs them."""
