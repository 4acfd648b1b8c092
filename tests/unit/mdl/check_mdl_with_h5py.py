# SPDX-License-Identifier: Apache-2.0
"""Opens a .mdl written by ckptconv the way Python tools do: h5py for the datasets, pickle for
__spec__ (dill's _load_type and torch's pytree classes map to stand-ins when they are not
installed). Usage: check_mdl_with_h5py.py FILE [REFERENCE.mdl]. Exit 0 when everything loads."""
import io
import pickle
import sys
from urllib.parse import quote

import h5py
import numpy as np

try:
    import hdf5plugin  # noqa: F401  (LZ4 for h5py when the system plugin is absent)
except ImportError:
    pass


class StandInSpec:
    def __setstate__(self, state):
        self.__dict__.update(state)


class TreeSpec(StandInSpec):
    pass


class LeafSpec(StandInSpec):
    pass


def _load_type(name):
    return {"dict": dict, "list": list, "tuple": tuple}[name]


class SpecUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if module == "dill._dill" and name == "_load_type":
            return _load_type
        if module == "torch.utils._pytree" and name in ("TreeSpec", "LeafSpec"):
            try:
                import torch.utils._pytree as pytree
                return getattr(pytree, name)
            except ImportError:
                return TreeSpec if name == "TreeSpec" else LeafSpec
        raise pickle.UnpicklingError(f"unexpected global {module}.{name}")


def load_spec(f):
    return SpecUnpickler(io.BytesIO(bytes.fromhex(f.attrs["__spec__"]))).load()


def leaf_keys(spec, prefix=""):
    if spec.type is None:
        return [prefix]
    out = []
    for i, child in enumerate(spec.children_specs):
        name = str(spec.context[i]) if spec.type is dict else str(i)
        out += leaf_keys(child, f"{prefix}.{name}" if prefix else name)
    return out


def shape(spec):
    if spec.type is None:
        return "*"
    return (spec.type.__name__, list(spec.context) if spec.type is dict else None,
            [shape(c) for c in spec.children_specs], spec.num_leaves)


def main():
    f = h5py.File(sys.argv[1], "r")
    spec = load_spec(f)
    assert f.attrs["__version__"] == 0.4, f.attrs["__version__"]
    keys = leaf_keys(spec)
    assert len(keys) == spec.num_leaves, (len(keys), spec.num_leaves)
    for key in keys:
        d = f[quote(key, safe="")]
        kind = d.attrs["__H5_TYPE__"]
        if kind == "TorchTensorH5Type":
            data = np.asarray(d[()])
            assert data.shape == d.shape, key
            if d.attrs["is_bfloat16"]:
                assert data.dtype.itemsize == 2, key
        elif kind == "ScalarH5Type":
            d[()].item()
        elif kind == "StringH5Type":
            assert isinstance(d.attrs["string_value"], str), key
    if len(sys.argv) > 2:
        ref = h5py.File(sys.argv[2], "r")
        assert shape(load_spec(ref)) == shape(spec), "spec tree differs from the reference"
        assert sorted(ref.keys()) == sorted(f.keys())
        for k in ref.keys():
            a, b = ref[k], f[k]
            if a.shape is not None and a.shape != ():
                assert np.array_equal(a[()], b[()]), k
    print(f"OK {len(keys)} leaves")


if __name__ == "__main__":
    main()
