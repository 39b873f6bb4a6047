"""coldstart_torch.py - the peer of maas-serve's cold start, for bench/serve-coldstart.

    python3 coldstart_torch.py BUNDLE

What a minimal PyTorch server does before it can answer: import torch,
build the network of a maas bundle (architectures of dense and activation
layers only, as nn.Sequential, whose state_dict names are the bundle's),
load weights.safetensors (read from a map of the file with torch.frombuffer,
then load_state_dict, which copies, as PyTorch does), run one forward pass
(maas-serve's self-test touches every weight too), and listen with
http.server on a free loopback port.  It then prints the line maas-serve
prints, "listening on http://127.0.0.1:PORT", and serves until SIGTERM.
It checks no digest and applies no prep spec, which favours it.
"""
import json
import mmap
import signal
import struct
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import torch


def build(arch, d, out):
    layers, width = [], d
    for word in arch.split(","):
        word = word.strip()
        if word.startswith("dense:"):
            n = int(word[6:])
            layers.append(torch.nn.Linear(width, n))
            width = n
        elif word in ("relu", "tanh", "sigmoid", "gelu"):
            layers.append({"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid,
                           "gelu": torch.nn.GELU}[word]())
        else:
            sys.exit("coldstart_torch: architecture word '%s' is not supported here" % word)
    layers.append(torch.nn.Linear(width, out))
    return torch.nn.Sequential(*layers)


def load_weights(path):
    f = open(path, "rb")
    m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    (n,) = struct.unpack("<Q", m[:8])
    header = json.loads(m[8:8 + n])
    header.pop("__metadata__", None)
    sd = {}
    for name, t in header.items():
        assert t["dtype"] == "F32", t
        b, e = t["data_offsets"]
        sd[name] = torch.frombuffer(m, dtype=torch.float32, count=(e - b) // 4, offset=8 + n + b).reshape(t["shape"])
    return sd, m


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'{"ready":true}')

    def log_message(self, *args):
        pass


def main():
    bundle = sys.argv[1]
    man = json.load(open(bundle + "/MODEL.json"))
    d = man["inputs"]["tensor"]["shape"][-1]
    out = man["outputs"]["tensor"]["shape"][-1]
    torch.set_num_threads(1)
    model = build(man["architecture"]["arch"], d, out)
    sd, _ = load_weights(bundle + "/weights.safetensors")
    model.load_state_dict(sd)
    model.eval()
    with torch.no_grad():
        model(torch.zeros(8, d))
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    signal.signal(signal.SIGTERM, lambda *a: threading.Thread(target=srv.shutdown).start())
    print("listening on http://127.0.0.1:%d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
