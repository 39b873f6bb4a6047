"""serve_body.py - one Open Inference Protocol v2 infer body for
bench/serve-speed: the first row of a dataset's test split, as a client
would send it (single record, numbers as Python prints float32s).

    python3 serve_body.py DATASET.safetensors INPUT_NAME > body.json
"""
import json
import sys

import numpy as np

from stload import load

tensors, _ = load(sys.argv[1], ["test.x"])
x = tensors["test.x"][:1].astype(np.float32)
print(json.dumps({"id": "bench", "inputs": [{"name": sys.argv[2], "shape": list(x.shape), "datatype": "FP32",
                                             "data": [float(f"{v:.7g}") for v in x.ravel()]}]}))
