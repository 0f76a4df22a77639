#!/usr/bin/python3
"""Writes the small ONNX test models and their cards, with the outputs they must give.

Run with Debian's /usr/bin/python3 (python3-onnx, python3-numpy) from anywhere:
    /usr/bin/python3 tests/data/models/make_test_models.py
Weights come from a seeded generator, so the files are the same on every run.

tiny-cnn/        Conv(3->4, 3x3, pad 1) -> Relu -> GlobalAveragePool -> Flatten -> Gemm(4->2),
                 input [N, 3, 32, 32] with a dynamic batch N; the card says softmax over
                 (benign, tumour). expected.json holds the logits and probabilities numpy
                 computes (float64, independently of any ONNX runtime) for a few fixed tiles.
tiny-cnn-batch1/ the same weights with a fixed batch of 1 (runtimes must run tiles one by one).
wrong-input/     Conv(3->2, 4x4, stride 4) -> Flatten -> Gemm on a fixed [1, 3, 48, 48] input,
                 with a card that says input_px 32: `model add` must refuse it.

The test tiles are a formula of (tile k, x, y, channel), which the C++ test reproduces:
    pixel = (37 x + 101 y + 53 c + 17 k + 11 ((x y) mod 7)) mod (256 - 37 (k mod 6))   (RGB, 32 x 32)
"""
import hashlib
import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
PX = 32
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
OPSET = 11
IR_VERSION = 6


def tile_pixels(k):
    """RGB tile k as a (PX, PX, 3) uint8 array (rows y, columns x)."""
    y, x, c = np.meshgrid(np.arange(PX), np.arange(PX), np.arange(3), indexing="ij")
    return ((37 * x + 101 * y + 53 * c + 17 * k + 11 * ((x * y) % 7)) % (256 - 37 * (k % 6))).astype(np.uint8)


def preprocess(tile):
    """NCHW float64 input of one RGB tile, as the card says: (px / 255 - mean) / std, RGB order."""
    v = tile.astype(np.float64) / 255.0
    v = (v - np.array(MEAN)) / np.array(STD)
    return v.transpose(2, 0, 1)[None]


def conv2d(x, w, b, stride, pad):
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh = (h + 2 * pad - kh) // stride + 1
    ow = (wd + 2 * pad - kw) // stride + 1
    out = np.zeros((n, o, oh, ow))
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride]
            out += np.einsum("nchw,oc->nohw", patch, w[:, :, i, j])
    return out + b[None, :, None, None]


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def save(model, path):
    onnx.checker.check_model(model)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(model.SerializeToString())


def write_json(path, value):
    with open(path, "w") as f:
        json.dump(value, f, indent=2)
        f.write("\n")


def tiny_cnn(batch):
    rng = np.random.RandomState(20240611)
    conv_w = (rng.standard_normal((4, 3, 3, 3)) * 0.3).astype(np.float32)
    conv_b = (rng.standard_normal(4) * 0.1).astype(np.float32)
    fc_w = (rng.standard_normal((2, 4)) * 0.8).astype(np.float32)
    fc_b = np.array([0.05, -0.05], dtype=np.float32)
    nodes = [
        helper.make_node("Conv", ["input", "conv_w", "conv_b"], ["conv"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv"], ["relu"]),
        helper.make_node("GlobalAveragePool", ["relu"], ["pool"]),
        helper.make_node("Flatten", ["pool"], ["flat"], axis=1),
        helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["logits"], transB=1),
    ]
    graph = helper.make_graph(
        nodes, "tiny_cnn",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch, 3, PX, PX])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [batch, 2])],
        [numpy_helper.from_array(conv_w, "conv_w"), numpy_helper.from_array(conv_b, "conv_b"),
         numpy_helper.from_array(fc_w, "fc_w"), numpy_helper.from_array(fc_b, "fc_b")])
    model = helper.make_model(graph, producer_name="mcval make_test_models.py",
                              opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION

    def forward(x):
        h = np.maximum(conv2d(x, conv_w.astype(np.float64), conv_b.astype(np.float64), 1, 1), 0)
        return h.mean(axis=(2, 3)) @ fc_w.astype(np.float64).T + fc_b.astype(np.float64)

    return model, forward


def card(name, onnx_file, onnx_path, input_px, description):
    return {
        "name": name,
        "version": "1.0.0",
        "description": description,
        "intended_use": "Software tests of mcval only. Random weights: the scores mean nothing.",
        "input_px": input_px,
        "mpp": 2.0,
        "channel_order": "RGB",
        "normalization": {"mean": MEAN, "std": STD},
        "class_names": ["benign", "tumour"],
        "output": "softmax",
        "positive_class": "tumour",
        "aggregation": {"method": "top_k_mean", "k": 3},
        "min_tissue_fraction": 0.5,
        "onnx": onnx_file,
        "onnx_sha256": sha256(onnx_path),
    }


def main():
    tiles = [0, 1, 2, 3, 4, 5, 200]
    for folder, batch, description in [
            ("tiny-cnn", "N", "A 2-class CNN with a dynamic batch dimension, for tests."),
            ("tiny-cnn-batch1", 1, "The tiny CNN with a fixed batch of 1, for tests.")]:
        model, forward = tiny_cnn(batch)
        path = os.path.join(HERE, folder, folder + ".onnx")
        save(model, path)
        write_json(os.path.join(HERE, folder, "card.json"), card(folder, folder + ".onnx", path, PX, description))
        if batch == "N":
            logits = np.concatenate([forward(preprocess(tile_pixels(k))) for k in tiles])
            batched = forward(np.concatenate([preprocess(tile_pixels(k)) for k in tiles]))
            assert np.allclose(logits, batched)
            write_json(os.path.join(HERE, folder, "expected.json"), {
                "tile_formula": "(37 x + 101 y + 53 c + 17 k + 11 ((x y) mod 7)) mod (256 - 37 (k mod 6)), RGB, 32 x 32",
                "tiles": [{"k": k, "logits": logits[i].tolist(), "probabilities": softmax(logits[i:i + 1])[0].tolist()}
                          for i, k in enumerate(tiles)],
            })

    # A model for 48 px tiles whose card says 32.
    rng = np.random.RandomState(7)
    conv_w = (rng.standard_normal((2, 3, 4, 4)) * 0.2).astype(np.float32)
    fc_w = (rng.standard_normal((2, 2 * 12 * 12)) * 0.05).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Conv", ["input", "conv_w"], ["conv"], kernel_shape=[4, 4], strides=[4, 4]),
         helper.make_node("Flatten", ["conv"], ["flat"], axis=1),
         helper.make_node("Gemm", ["flat", "fc_w"], ["logits"], transB=1)],
        "wrong_input",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 48, 48])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 2])],
        [numpy_helper.from_array(conv_w, "conv_w"), numpy_helper.from_array(fc_w, "fc_w")])
    model = helper.make_model(graph, producer_name="mcval make_test_models.py",
                              opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    path = os.path.join(HERE, "wrong-input", "wrong-input.onnx")
    save(model, path)
    write_json(os.path.join(HERE, "wrong-input", "card.json"),
               card("wrong-input", "wrong-input.onnx", path, PX, "Expects 48 px tiles; its card says 32."))


if __name__ == "__main__":
    main()
