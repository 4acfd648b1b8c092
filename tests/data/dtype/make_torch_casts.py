#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# Writes what torch's own casts give, once, for the --dtype tests (which then need no Python):
# torch_casts.tsv (CRC-32 and size of every fixture tensor cast to bfloat16, float16 and float32,
# and of every 16-bit pattern cast between the 16-bit floats) and edge_cases*.safetensors (values
# at the edges of the formats, and torch's casts of them byte for byte).
# Run from the repository root with Debian's python3-torch: /usr/bin/python3 tests/data/dtype/make_torch_casts.py
import json
import os
import struct
import zlib

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.dirname(HERE)
FAMILIES = ["bert", "bloom", "codegen", "falcon", "gpt2", "gpt_neox", "gptj", "llama", "mistral", "mpt",
            "roberta", "t5"]
ST_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "F64": torch.float64,
             "I64": torch.int64, "I32": torch.int32, "U8": torch.uint8, "BOOL": torch.bool}
NAMES = {torch.float32: "float32", torch.bfloat16: "bfloat16", torch.float16: "float16"}


def read_safetensors(path):
    """A minimal reader (the fixtures are plain little-endian safetensors files)."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = bytearray(blob[8 + n + begin:8 + n + end])
        dtype = ST_DTYPES[info["dtype"]]
        t = torch.frombuffer(raw, dtype=torch.uint8) if len(raw) else torch.empty(0, dtype=torch.uint8)
        out[name] = t.view(dtype).reshape(info["shape"])
    return out


def write_safetensors(path, tensors):
    rev = {v: k for k, v in ST_DTYPES.items()}
    header, offset, blobs = {}, 0, []
    for name, t in tensors.items():
        b = t.contiguous().view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": rev[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def raw(t):
    return t.contiguous().view(torch.uint8).numpy().tobytes() if t.numel() else b""


def edge_values():
    f32 = [0.0, -0.0, 1.0, -1.0, 65504.0, 65505.0, 65519.0, 65519.996, 65520.0, -65520.0, 1e5, -1e5,
           float("inf"), float("-inf"), 6.1035156e-05, 6.097555e-05, 5.9604645e-08, 2.9802322e-08, 2.9802326e-08,
           8.940697e-08, 1e-8, 1e-45, 1.1754942e-38, 3.4028235e38, -3.4028235e38, 3.3961775e38, 1.00390625,
           1.01171875, 1.0 + 2.0 ** -11, 1.0 + 3 * 2.0 ** -11, 0.1, 1.0 / 3.0, 2.0 ** 15 + 16.0, 2.0 ** 15 + 48.0]
    bits = np.array(f32, dtype=np.float32).view(np.uint32).tolist()
    bits += [0x7FC00000, 0xFFC00000, 0x7F800001, 0x7FBFFFFF, 0x7F812345]  # NaNs: quiet, negative, signalling
    rng = np.random.default_rng(18)
    noise = (rng.standard_normal(4096) * np.exp(rng.uniform(-30, 30, 4096))).astype(np.float32)
    return np.concatenate([np.array(bits, dtype=np.uint32).view(np.float32), noise])


def main():
    rows = []
    for fam in FAMILIES:
        rel = f"hf/{fam}/safetensors/model.safetensors"
        for name, t in read_safetensors(os.path.join(DATA, rel)).items():
            for to in (torch.bfloat16, torch.float16, torch.float32):
                out = t.to(to) if t.is_floating_point() else t
                b = raw(out)
                rows.append((rel, name, NAMES[to], len(b), zlib.crc32(b)))
    # Every 16-bit pattern as float16 and as bfloat16, cast to the other two floats.
    iota = torch.arange(65536, dtype=torch.int32).to(torch.int16)
    for src_name, src in (("iota_f16", iota.view(torch.float16)), ("iota_bf16", iota.view(torch.bfloat16))):
        for to in (torch.bfloat16, torch.float16, torch.float32):
            b = raw(src.to(to))
            rows.append((src_name, "iota", NAMES[to], len(b), zlib.crc32(b)))
    with open(os.path.join(HERE, "torch_casts.tsv"), "w") as f:
        f.write(f"# source\ttensor\tdtype\tbytes\tcrc32 -- torch {torch.__version__}, made by make_torch_casts.py\n")
        for r in rows:
            f.write("\t".join(str(x) for x in r) + "\n")

    src = torch.from_numpy(edge_values())
    ints = torch.tensor([0, 1, -1, 2 ** 40, -(2 ** 62)], dtype=torch.int64)
    mask = torch.tensor([True, False, True])
    half = src.to(torch.float16)
    write_safetensors(os.path.join(HERE, "edge_cases.safetensors"),
                      {"f32": src, "f64": src.to(torch.float64) * 3.0, "f16": half, "i64": ints, "mask": mask})
    for to in (torch.bfloat16, torch.float16, torch.float32):
        write_safetensors(os.path.join(HERE, f"edge_cases_{NAMES[to]}.safetensors"),
                          {"f32": src.to(to), "f64": (src.to(torch.float64) * 3.0).to(to), "f16": half.to(to),
                           "i64": ints, "mask": mask})


if __name__ == "__main__":
    main()
