#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Regenerates the broken safetensors files in tests/data/bad/safetensors/ (beside this script) and
# the broken sharded indexes in tests/data/bad/index/ (the files themselves are committed; this script documents how they were made).
import json
import os
import shutil
import struct

ST = os.path.dirname(os.path.abspath(__file__))
IX = os.path.join(os.path.dirname(ST), "index")


def raw(header: bytes, data: bytes = b"", length=None) -> bytes:
    n = len(header) if length is None else length
    return struct.pack("<Q", n) + header + data


def st(header: dict, data: bytes) -> bytes:
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    return raw(h, data)


def f32(name, begin, n=2):
    return {"dtype": "F32", "shape": [n], "data_offsets": [begin, begin + 4 * n]}


D8 = bytes(range(8))
ok_header = json.dumps({"a": f32("a", 0)}, separators=(",", ":")).encode()

SAFETENSORS = {
    "empty.safetensors": b"",
    "truncated_length_prefix.safetensors": b"\x10\x00\x00\x00\x00",
    "truncated_header.safetensors": raw(ok_header[:20], length=len(ok_header)),
    "truncated_data.safetensors": raw(ok_header, D8[:5]),
    "header_length_2pow63.safetensors": raw(ok_header, D8, length=1 << 63),
    "header_length_1e9.safetensors": raw(ok_header, D8, length=10**9),
    "header_length_past_eof.safetensors": raw(ok_header, D8, length=len(ok_header) + 100),
    "header_not_json.safetensors": raw(b"{\"a\": {dtype: F32}}", b""),
    "header_invalid_utf8.safetensors": raw(b"{\"\xff\xfe\":{}}", b""),
    "header_not_object.safetensors": raw(b"[1, 2, 3]", b""),
    "header_nul_padding.safetensors": raw(b"{}\x00\x00\x00\x00\x00\x00", b""),
    "header_deep_nesting.safetensors": raw(b"{\"__metadata__\":" + b"[" * 5000 + b"]" * 5000 + b"}", b""),
    "unknown_dtype.safetensors": st({"a": {"dtype": "Q4_K", "shape": [2], "data_offsets": [0, 8]}}, D8),
    "dtype_not_string.safetensors": st({"a": {"dtype": 32, "shape": [2], "data_offsets": [0, 8]}}, D8),
    "negative_shape.safetensors": st({"a": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}, D8),
    "huge_shape.safetensors": st({"a": {"dtype": "F32", "shape": [2**40, 2**40], "data_offsets": [0, 8]}}, D8),
    "shape_beyond_u64.safetensors": raw(b"{\"a\":{\"dtype\":\"F32\",\"shape\":[123456789012345678901234567890],\"data_offsets\":[0,8]}}", D8),
    "shape_float.safetensors": st({"a": {"dtype": "F32", "shape": [2.0], "data_offsets": [0, 8]}}, D8),
    "shape_not_array.safetensors": st({"a": {"dtype": "F32", "shape": 2, "data_offsets": [0, 8]}}, D8),
    "missing_field.safetensors": st({"a": {"dtype": "F32", "data_offsets": [0, 8]}}, D8),
    "duplicate_field.safetensors": raw(b"{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", D8),
    "entry_not_object.safetensors": st({"a": [0, 8]}, D8),
    "offsets_out_of_range.safetensors": st({"a": {"dtype": "F32", "shape": [256], "data_offsets": [0, 1024]}}, D8),
    "offsets_reversed.safetensors": st({"a": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}}, D8),
    "offsets_wrong_arity.safetensors": st({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0]}}, D8),
    "offsets_negative.safetensors": st({"a": {"dtype": "F32", "shape": [2], "data_offsets": [-8, 0]}}, D8),
    "offsets_size_mismatch.safetensors": st({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, D8),
    "offsets_overlap.safetensors": st({"a": f32("a", 0), "b": f32("b", 4)}, D8 + D8[:4]),
    "offsets_gap.safetensors": st({"a": f32("a", 0), "b": f32("b", 12)}, D8 + D8 + D8[:4]),
    "offsets_not_from_zero.safetensors": st({"a": f32("a", 4)}, D8 + D8[:4]),
    "offsets_not_covering.safetensors": st({"a": f32("a", 0, 1)}, D8),
    "trailing_bytes.safetensors": st({"a": f32("a", 0)}, D8 + b"PK\x03\x04"),
    "duplicate_keys.safetensors": raw(b"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", D8),
    "metadata_non_string.safetensors": st({"__metadata__": {"format": "pt", "step": 100}, "a": f32("a", 0)}, D8),
    "metadata_nested.safetensors": st({"__metadata__": {"format": {"name": "pt"}}, "a": f32("a", 0)}, D8),
    "metadata_not_object.safetensors": st({"__metadata__": ["format", "pt"], "a": f32("a", 0)}, D8),
    "metadata_duplicate_key.safetensors": raw(b"{\"__metadata__\":{\"format\":\"pt\",\"format\":\"tf\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", D8),
    "metadata_twice.safetensors": raw(b"{\"__metadata__\":{},\"__metadata__\":{},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", D8),
}


def shard(names):
    hdr, off = {"__metadata__": {"format": "pt"}}, 0
    for n in names:
        hdr[n] = f32(n, off)
        off += 8
    return st(hdr, D8 * len(names))


def index(weight_map):
    return json.dumps({"metadata": {"total_size": 8 * len(weight_map)}, "weight_map": weight_map}, indent=4).encode()


S1, S2 = "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"
INDEX = {
    "not_json": {"model.safetensors.index.json": b"{\"weight_map\": {\"a\": \"model-00001-of-00001.safetensors\"\n"},
    "not_object": {"model.safetensors.index.json": b"[\"weight_map\"]"},
    "no_weight_map": {"model.safetensors.index.json": b"{\"metadata\": {\"total_size\": 8}}"},
    "weight_map_not_object": {"model.safetensors.index.json": b"{\"weight_map\": [\"a\", \"b\"]}"},
    "shard_name_not_string": {"model.safetensors.index.json": b"{\"weight_map\": {\"a\": 1}}"},
    "duplicate_tensor": {"model.safetensors.index.json": ("{\"weight_map\": {\"a\": \"%s\", \"a\": \"%s\"}}" % (S1, S2)).encode(),
                         S1: shard(["a"]), S2: shard(["a"])},
    "missing_shard": {"model.safetensors.index.json": index({"a": S1, "b": S2}), S1: shard(["a"])},
    "dotdot_shard": {"model.safetensors.index.json": index({"a": "../dotdot_shard.safetensors"})},
    "absolute_shard": {"model.safetensors.index.json": index({"a": "/etc/hostname"})},
    "shard_lacks_tensor": {"model.safetensors.index.json": index({"a": S1, "b": S1, "c": S2}),
                           S1: shard(["a"]), S2: shard(["c"])},
    "tensor_in_two_shards": {"model.safetensors.index.json": index({"a": S1, "b": S2}),
                             S1: shard(["a"]), S2: shard(["a", "b"])},
    "corrupt_shard": {"model.safetensors.index.json": index({"a": S1}), S1: raw(ok_header, D8[:4])},
}


def main():
    for name in os.listdir(ST):
        if name.endswith(".safetensors"):
            os.remove(os.path.join(ST, name))
    shutil.rmtree(IX, ignore_errors=True)
    for name, data in SAFETENSORS.items():
        with open(os.path.join(ST, name), "wb") as f:
            f.write(data)
    for case, files in INDEX.items():
        os.makedirs(os.path.join(IX, case))
        for name, data in files.items():
            with open(os.path.join(IX, case, name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
