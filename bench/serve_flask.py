"""serve_flask.py - the peer of maas-serve in bench/serve-speed: Flask under
gunicorn answering the same Open Inference Protocol v2 infer request with
the same bundle's MLP in numpy.

    MAAS_BUNDLE=fashion.maas gunicorn -w 2 -b 127.0.0.1:PORT --chdir bench serve_flask:app

Reads MODEL.json's architecture (linear and relu layers) and the weights
from weights.safetensors with numpy only, and answers probabilities, class
and label like maas-serve.  What a team writes when it wraps a model in
Flask: a dozen lines, no batching.
"""
import json
import os
import struct

import numpy as np
from flask import Flask, jsonify, request

BUNDLE = os.environ["MAAS_BUNDLE"]


def load_weights(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        header.pop("__metadata__", None)
        data = f.read()
    out = {}
    for name, t in header.items():
        if t["dtype"] != "F32":
            raise SystemExit(f"serve_flask.py: tensor '{name}' is {t['dtype']}, not F32")
        b, e = t["data_offsets"]
        out[name] = np.frombuffer(data[b:e], dtype="<f4").reshape(t["shape"])
    return out


with open(os.path.join(BUNDLE, "MODEL.json")) as f:
    MODEL = json.load(f)
W = load_weights(os.path.join(BUNDLE, "weights.safetensors"))
LAYERS = []
for layer in MODEL["architecture"]["layers"]:
    if layer["type"] == "linear":
        LAYERS.append(("linear", W[layer["tensors"]["weight"]].T.copy(), W[layer["tensors"]["bias"]]))
    elif layer["type"] == "relu":
        LAYERS.append(("relu", None, None))
    else:
        raise SystemExit(f"serve_flask.py: layer type '{layer['type']}' is not supported")
LABELS = MODEL["outputs"].get("labels", [])
INPUT = MODEL["inputs"]["tensor"]["name"]
NAME = MODEL["name"]

app = Flask(__name__)


@app.post(f"/v2/models/{NAME}/infer")
def infer():
    req = request.get_json(force=True)
    t = req["inputs"][0]
    if t["name"] != INPUT or t["datatype"] != "FP32":
        return jsonify(error="bad input"), 400
    x = np.asarray(t["data"], dtype=np.float32).reshape(t["shape"])
    for kind, w, b in LAYERS:
        x = x @ w + b if kind == "linear" else np.maximum(x, 0)
    z = np.exp(x - x.max(axis=1, keepdims=True))
    p = z / z.sum(axis=1, keepdims=True)
    cls = p.argmax(axis=1)
    n = len(cls)
    return jsonify(model_name=NAME, model_version="1", outputs=[
        {"name": "probabilities", "datatype": "FP32", "shape": [n, p.shape[1]], "data": p.ravel().tolist()},
        {"name": "class", "datatype": "INT64", "shape": [n, 1], "data": cls.tolist()},
        {"name": "label", "datatype": "BYTES", "shape": [n, 1], "data": [LABELS[c] if c < len(LABELS) else str(c) for c in cls]},
    ])
