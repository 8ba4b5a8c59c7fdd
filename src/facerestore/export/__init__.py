"""Deployment formats of a trained method: ONNX graphs checked by onnxruntime (:mod:`facerestore.export.onnx`)."""
