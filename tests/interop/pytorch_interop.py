#!/usr/bin/env python3
"""agd checkpoints and PyTorch, both ways.

    /usr/bin/python3 tests/interop/pytorch_interop.py AGD_INTEROP [WORK_DIR]

AGD_INTEROP is the program built from tests/interop/agd_interop.cpp. The network is
Dense<20,32>, Sqrt2Relu, Dense<32,16>, Sqrt2Relu, Dense<16,5>; in PyTorch, bias-free nn.Linear
layers in an nn.Sequential attribute named `layers`, with relu(x) * sqrt(2) between them, whose
state_dict names are exactly agd's tensor names (docs/checkpoints.md).

  agd -> torch: agd saves an AGD-initialised network, a batch and its outputs; this script loads
                the checkpoint into the torch module and compares its outputs with agd's.
  torch -> agd: this script saves a torch-initialised module's state_dict, a batch and torch's
                outputs; agd_interop loads them and compares.

Each direction prints its max relative error, max |agd - torch| / max |reference|, and must be
<= 1e-5. The safetensors files are read and written by hand (struct + json + numpy), since the
safetensors package is not a dependency. Exits 77 (ctest's SKIP_RETURN_CODE) without torch or
numpy: run it with /usr/bin/python3, which has Debian's python3-torch and python3-numpy.
"""

import json
import math
import os
import re
import struct
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import torch
except ImportError as error:
    print(f"skipped: {error} (install python3-torch and python3-numpy and run this with the "
          f"python that has them, e.g. /usr/bin/python3; this is {sys.executable})")
    sys.exit(77)

TOLERANCE = 1e-5
ARCHITECTURE = "Dense<20,32>;Sqrt2Relu;Dense<32,16>;Sqrt2Relu;Dense<16,5>"
DTYPES = {"F32": np.dtype("<f4"), "F64": np.dtype("<f8")}


def read_safetensors(path):
    """Returns ({name: numpy array}, metadata), checking the layout as agd's reader does."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path}: {len(raw)} bytes, too short for a safetensors file")
    (header_length,) = struct.unpack("<Q", raw[:8])
    if header_length > len(raw) - 8:
        raise ValueError(f"{path}: header length {header_length} runs past the end of the file")
    header = json.loads(raw[8:8 + header_length].decode("utf-8"))
    data = raw[8 + header_length:]
    metadata = header.pop("__metadata__", {})
    tensors, covered = {}, 0
    for name, entry in sorted(header.items(), key=lambda item: item[1]["data_offsets"]):
        begin, end = entry["data_offsets"]
        dtype = DTYPES[entry["dtype"]]
        count = math.prod(entry["shape"])
        if begin != covered or end - begin != count * dtype.itemsize or end > len(data):
            raise ValueError(f"{path}: tensor {name!r} has bad data_offsets "
                             f"{entry['data_offsets']}")
        covered = end
        # Row-major (C order) little-endian, as PyTorch and numpy hold it.
        tensors[name] = np.frombuffer(data, dtype, count, begin).reshape(entry["shape"]).copy()
    if covered != len(data):
        raise ValueError(f"{path}: {len(data) - covered} bytes after the last tensor")
    return tensors, metadata


def write_safetensors(path, tensors, metadata=None):
    """Writes {name: numpy array} as safetensors: row-major little-endian, header padded with
    spaces to a multiple of 8 bytes as the reference implementation does."""
    header, chunks, offset = {}, [], 0
    for name, array in tensors.items():
        array = np.ascontiguousarray(array, dtype=np.dtype("<f4"))
        chunks.append(array.tobytes(order="C"))
        header[name] = {"dtype": "F32", "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(chunks[-1])]}
        offset += len(chunks[-1])
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))


class Sqrt2ReLU(torch.nn.Module):
    """agd::Sqrt2Relu, the official AGD code's F.relu(x) * math.sqrt(2)."""

    def forward(self, x):
        return torch.relu(x) * math.sqrt(2)


class AgdNet(torch.nn.Module):
    """agd::Sequential<Dense<20,32>, Sqrt2Relu, Dense<32,16>, Sqrt2Relu, Dense<16,5>>."""

    def __init__(self):
        super().__init__()
        self.layers = torch.nn.Sequential(
            torch.nn.Linear(20, 32, bias=False), Sqrt2ReLU(),
            torch.nn.Linear(32, 16, bias=False), Sqrt2ReLU(),
            torch.nn.Linear(16, 5, bias=False))

    def forward(self, x):
        return self.layers(x)


def relative_error(actual, reference):
    return float(np.max(np.abs(actual - reference)) / np.max(np.abs(reference)))


def agd_to_torch(agd_interop, work):
    checkpoint, inputs, outputs = (os.path.join(work, name) for name in
                                   ("agd.safetensors", "agd_inputs.safetensors",
                                    "agd_outputs.safetensors"))
    subprocess.run([agd_interop, "save", checkpoint, inputs, outputs], check=True)
    tensors, metadata = read_safetensors(checkpoint)
    if metadata.get("agd.architecture") != ARCHITECTURE or metadata.get("agd.optimizer") != "agd":
        raise ValueError(f"{checkpoint}: unexpected metadata {metadata}")
    model = AgdNet()
    # strict: every parameter of the module must come from the file and every tensor must fit.
    model.load_state_dict({name: torch.from_numpy(array) for name, array in tensors.items()},
                          strict=True)
    # AGD's initialisation, seen from PyTorch: every singular value of W_k is sqrt(out/in).
    for name, weight in model.state_dict().items():
        expected = math.sqrt(weight.shape[0] / weight.shape[1])
        singular_values = torch.linalg.svdvals(weight.double())
        if not torch.allclose(singular_values, torch.full_like(singular_values, expected),
                              rtol=1e-5):
            raise ValueError(f"{name}: singular values {singular_values} are not {expected}")
    x = read_safetensors(inputs)[0]["inputs"]
    y_agd = read_safetensors(outputs)[0]["outputs"]
    with torch.no_grad():
        y_torch = model(torch.from_numpy(x)).numpy()
    return relative_error(y_torch, y_agd)


def torch_to_agd(agd_interop, work):
    weights, inputs, outputs = (os.path.join(work, name) for name in
                                ("torch.safetensors", "torch_inputs.safetensors",
                                 "torch_outputs.safetensors"))
    torch.manual_seed(0)
    model = AgdNet()  # PyTorch's own default initialisation, unlike agd's
    x = torch.randn(16, 20)
    with torch.no_grad():
        y = model(x)
    write_safetensors(weights, {name: t.numpy() for name, t in model.state_dict().items()},
                      {"format": "pt"})
    write_safetensors(inputs, {"inputs": x.numpy()})
    write_safetensors(outputs, {"outputs": y.numpy()})
    result = subprocess.run([agd_interop, "check", weights, inputs, outputs],
                            capture_output=True, text=True)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    found = re.search(r"max relative error (\S+)", result.stdout)
    if result.returncode not in (0, 1) or not found:
        raise RuntimeError(f"agd_interop check failed with exit code {result.returncode}")
    return float(found.group(1))


def main():
    if len(sys.argv) not in (2, 3):
        print(__doc__)
        return 2
    agd_interop = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory() as scratch:
        work = sys.argv[2] if len(sys.argv) == 3 else scratch
        os.makedirs(work, exist_ok=True)
        errors = {"agd -> torch": agd_to_torch(agd_interop, work),
                  "torch -> agd": torch_to_agd(agd_interop, work)}
    passed = True
    for direction, error in errors.items():
        ok = error <= TOLERANCE
        passed &= ok
        print(f"{direction}: max relative error {error:.3g} (tolerance {TOLERANCE:g}): "
              f"{'ok' if ok else 'MISMATCH'}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
