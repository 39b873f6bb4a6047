#!/usr/bin/python3
"""st_read.py - an independent safetensors reader for tests (numpy only).

    /usr/bin/python3 test/tools/st_read.py FILE [--max-values N]

Loads FILE ("-" reads stdin) with its own code, not maas's, validates it as
the reference implementation does, and prints one JSON object:

    {"metadata": {...} or null,
     "tensors": {"name": {"dtype": "F32", "shape": [2, 3], "offsets": [b, e],
                          "values": [...]}, ...}}

"values" lists every element (row-major) when there are at most N of them
(default 64); otherwise the tensor has "sum", "min", "max" (null when empty)
and "nan" (the count of NaNs, floats only) instead.  Non-finite floats are
written as the strings "nan", "inf" and "-inf" so that the output is strict
JSON.  On a malformed file it prints "st_read: FILE: why" to stderr and
exits 1.
"""
import json
import struct
import sys

import numpy as np

DTYPES = {
    "BOOL": np.bool_, "U8": np.uint8, "I8": np.int8, "I16": np.int16,
    "U16": np.uint16, "F16": np.float16, "BF16": None, "I32": np.int32,
    "U32": np.uint32, "F32": np.float32, "F64": np.float64, "I64": np.int64,
    "U64": np.uint64,
}
SIZES = {"BOOL": 1, "U8": 1, "I8": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
         "I32": 4, "U32": 4, "F32": 4, "F64": 8, "I64": 8, "U64": 8}
HEADER_MAX = 100_000_000


class Malformed(Exception):
    pass


def no_duplicates(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise Malformed("duplicate key %r in the header" % key)
        seen[key] = value
    return seen


def reject_constant(name):
    raise Malformed("invalid JSON constant %s in the header" % name)


def is_uint(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def parse(blob):
    if len(blob) < 8:
        raise Malformed("shorter than 8 bytes")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > HEADER_MAX:
        raise Malformed("header length %d is over the limit" % n)
    if 8 + n > len(blob):
        raise Malformed("header length %d goes past the end" % n)
    try:
        text = blob[8:8 + n].decode("utf-8", errors="strict")
    except UnicodeDecodeError as err:
        raise Malformed("header is not UTF-8: %s" % err)
    if not text.startswith("{"):
        raise Malformed("header does not start with '{'")
    try:
        header = json.loads(text, object_pairs_hook=no_duplicates,
                            parse_constant=reject_constant)
    except ValueError as err:
        raise Malformed("header is not JSON: %s" % err)
    if not isinstance(header, dict):
        raise Malformed("header is not an object")
    meta = header.pop("__metadata__", None)
    if meta is not None:
        if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
            raise Malformed("__metadata__ is not a map of strings")
    infos = []
    for name, info in header.items():
        if not isinstance(info, dict):
            raise Malformed("%s: not an object" % name)
        dtype, shape, offs = info.get("dtype"), info.get("shape"), info.get("data_offsets")
        if dtype not in SIZES:
            raise Malformed("%s: bad dtype %r" % (name, dtype))
        if not isinstance(shape, list) or not all(is_uint(d) for d in shape):
            raise Malformed("%s: bad shape" % name)
        if not isinstance(offs, list) or len(offs) != 2 or not all(is_uint(o) for o in offs):
            raise Malformed("%s: bad data_offsets" % name)
        infos.append((offs[0], offs[1], name, dtype, shape))
    infos.sort()
    data = blob[8 + n:]
    pos = 0
    tensors = {}
    for begin, end, name, dtype, shape in infos:
        if begin != pos or end < begin:
            raise Malformed("%s: data_offsets [%d, %d] do not follow %d" % (name, begin, end, pos))
        count = 1
        for d in shape:
            count *= d
        if count * SIZES[dtype] >= 2**64:
            raise Malformed("%s: size overflows" % name)
        if end - begin != count * SIZES[dtype]:
            raise Malformed("%s: %d bytes for %s %s" % (name, end - begin, dtype, shape))
        pos = end
        tensors[name] = (dtype, shape, begin, end)
    if pos != len(data):
        raise Malformed("tensors cover %d of %d data bytes" % (pos, len(data)))
    return meta, tensors, data


def values_of(dtype, shape, raw):
    if dtype == "BF16":
        bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
        arr = bits.view("<f4")
    else:
        arr = np.frombuffer(raw, dtype=np.dtype(DTYPES[dtype]).newbyteorder("<"))
    return arr.reshape(shape)


def scalar(v, is_float):
    if is_float:
        f = float(v)
        if f != f:
            return "nan"
        if f in (float("inf"), float("-inf")):
            return "inf" if f > 0 else "-inf"
        return f
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    return int(v)


def describe(meta, tensors, data, max_values):
    out = {"metadata": meta, "tensors": {}}
    for name, (dtype, shape, begin, end) in tensors.items():
        arr = values_of(dtype, shape, data[begin:end])
        is_float = dtype.startswith("F") or dtype == "BF16"
        d = {"dtype": dtype, "shape": shape, "offsets": [begin, end]}
        flat = arr.ravel()
        if flat.size <= max_values:
            d["values"] = [scalar(v, is_float) for v in flat]
        else:
            wide = flat.astype(np.float64) if is_float else flat.astype(object)
            finite = wide[~np.isnan(wide)] if is_float else wide
            d["sum"] = scalar(finite.sum(), is_float)
            d["min"] = scalar(finite.min(), is_float) if finite.size else None
            d["max"] = scalar(finite.max(), is_float) if finite.size else None
            if is_float:
                d["nan"] = int(np.isnan(wide).sum())
        out["tensors"][name] = d
    return out


def main(argv):
    args = argv[1:]
    max_values = 64
    if len(args) == 3 and args[1] == "--max-values":
        max_values = int(args[2])
        args = args[:1]
    if len(args) != 1:
        sys.stderr.write("usage: st_read.py FILE [--max-values N]\n")
        return 2
    path = args[0]
    try:
        if path == "-":
            blob = sys.stdin.buffer.read()
        else:
            with open(path, "rb") as f:
                blob = f.read()
        meta, tensors, data = parse(blob)
    except (OSError, Malformed) as err:
        sys.stderr.write("st_read: %s: %s\n" % (path, err))
        return 1
    json.dump(describe(meta, tensors, data, max_values), sys.stdout, ensure_ascii=False,
              allow_nan=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
