"""Read and write .safetensors files by hand (struct + json + numpy only).

Layout: 8-byte little-endian header length N, N bytes of JSON header, then the
raw little-endian tensor bytes. The header maps each tensor name to
{"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the start
of the data) and may carry "__metadata__" (string -> string).

Read: F64, F32, F16, BF16 (returned as float32: numpy has no bfloat16; the
conversion is exact), I64, I32, I16, I8, U8, BOOL.
Write: F32 and F16, taken from the numpy dtype of each array.
"""

import json
import struct

import numpy as np

_READ_DTYPES = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),  # raw bits, widened to float32 below
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}

_WRITE_DTYPES = {
    np.dtype(np.float32): ("F32", np.dtype("<f4")),
    np.dtype(np.float16): ("F16", np.dtype("<f2")),
}

# A header larger than this is surely a corrupt file, not a checkpoint.
_MAX_HEADER_BYTES = 100 * 1024 * 1024


class SafetensorsError(ValueError):
    """A malformed or unsupported safetensors file; the message names the file."""


def _bf16_bits_to_float32(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32)


def _parse_header(path, blob):
    if len(blob) < 8:
        raise SafetensorsError(f"{path}: file too short ({len(blob)} bytes) for a header length")
    (header_len,) = struct.unpack("<Q", blob[:8])
    if header_len > _MAX_HEADER_BYTES or 8 + header_len > len(blob):
        raise SafetensorsError(f"{path}: header length {header_len} exceeds the file ({len(blob)} bytes)")
    try:
        header = json.loads(blob[8:8 + header_len].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise SafetensorsError(f"{path}: header is not valid JSON: {err}") from None
    if not isinstance(header, dict):
        raise SafetensorsError(f"{path}: header is not a JSON object")
    return header, 8 + header_len


def _decode_tensor(path, name, entry, data):
    if not isinstance(entry, dict) or not {"dtype", "shape", "data_offsets"} <= entry.keys():
        raise SafetensorsError(f"{path}: tensor '{name}': needs dtype, shape and data_offsets")
    dtype_name, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if dtype_name not in _READ_DTYPES:
        raise SafetensorsError(f"{path}: tensor '{name}': unsupported dtype '{dtype_name}'")
    if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise SafetensorsError(f"{path}: tensor '{name}': bad shape {shape!r}")
    if (not isinstance(offsets, list) or len(offsets) != 2
            or not all(isinstance(o, int) for o in offsets)
            or not 0 <= offsets[0] <= offsets[1] <= len(data)):
        raise SafetensorsError(f"{path}: tensor '{name}': data_offsets {offsets!r} outside the data ({len(data)} bytes)")
    dtype = _READ_DTYPES[dtype_name]
    count = int(np.prod(shape, dtype=np.int64))
    if offsets[1] - offsets[0] != count * dtype.itemsize:
        raise SafetensorsError(f"{path}: tensor '{name}': {offsets[1] - offsets[0]} bytes for shape {shape} of {dtype_name}")
    array = np.frombuffer(data, dtype=dtype, count=count, offset=offsets[0]).reshape(shape).copy()
    if dtype_name == "BF16":
        array = _bf16_bits_to_float32(array)
    return array.astype(array.dtype.newbyteorder("="), copy=False)


def read_safetensors(path):
    """Return (tensors, metadata): name -> numpy array in file order, and the
    "__metadata__" dict (empty when absent)."""
    with open(path, "rb") as f:
        blob = f.read()
    header, data_start = _parse_header(path, blob)
    data = memoryview(blob)[data_start:]
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict):
        raise SafetensorsError(f"{path}: __metadata__ is not a JSON object")
    tensors = {name: _decode_tensor(path, name, entry, data) for name, entry in header.items()}
    return tensors, metadata


def write_safetensors(path, tensors, metadata=None):
    """Write name -> numpy array (float32 or float16), in the given order."""
    header = {"__metadata__": dict(metadata) if metadata else {"format": "pt"}}
    chunks, offset = [], 0
    for name, array in tensors.items():
        array = np.asarray(array)
        if array.dtype not in _WRITE_DTYPES:
            raise SafetensorsError(f"{path}: tensor '{name}': cannot write dtype {array.dtype} (F32 or F16 only)")
        dtype_name, file_dtype = _WRITE_DTYPES[array.dtype]
        raw = np.ascontiguousarray(array, dtype=file_dtype).tobytes()
        header[name] = {"dtype": dtype_name, "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    header_bytes += b" " * (-len(header_bytes) % 8)  # pad so the data starts 8-aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header_bytes)))
        f.write(header_bytes)
        for raw in chunks:
            f.write(raw)
