"""A file of named numpy arrays that processes map read-only: the pages are the page cache's,
shared by every process that maps the file (a worker's memory holds none of them twice).

Layout: a magic line, the length of a JSON table of contents, the table (name -> dtype,
shape, offset), then each array's bytes at a 64-byte aligned offset. Byte strings are stored
as uint8 arrays.
"""

from __future__ import annotations

import json
import mmap
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

MAGIC = b"screening-arrays 1\n"
_ALIGN = 64


def write_arrays(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """Write `arrays` to `path` (whole: written under a temporary name, then renamed)."""
    table: dict[str, tuple[str, list[int], int]] = {}
    offset = 0
    contiguous = {}
    for name, array in arrays.items():
        data = np.asarray(array)
        if not data.flags.c_contiguous:
            data = data.copy(order="C")
        if data.dtype.hasobject:
            raise TypeError(f"{name}: object arrays cannot be mapped")
        contiguous[name] = data
        table[name] = (data.dtype.str, list(data.shape), offset)
        offset += -(-data.nbytes // _ALIGN) * _ALIGN
    head = json.dumps(table, separators=(",", ":")).encode()
    start = -(-(len(MAGIC) + 8 + len(head)) // _ALIGN) * _ALIGN
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as fh:
        fh.write(MAGIC)
        fh.write(len(head).to_bytes(8, "little"))
        fh.write(head)
        for name, data in contiguous.items():
            fh.seek(start + table[name][2])
            fh.write(data.data)
        fh.truncate(start + offset)
    tmp.replace(path)


def read_arrays(path: Path) -> dict[str, np.ndarray]:
    """Map `path` read-only: arrays backed by the file's shared pages (they stay valid after
    the file is removed). Raises ValueError for a file of another format."""
    with path.open("rb") as fh:
        if fh.read(len(MAGIC)) != MAGIC:
            raise ValueError(f"{path}: not an arrays file")
        size = int.from_bytes(fh.read(8), "little")
        table = json.loads(fh.read(size))
        start = -(-(len(MAGIC) + 8 + size) // _ALIGN) * _ALIGN
        mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    out = {}
    for name, (dtype, shape, offset) in table.items():
        count = int(np.prod(shape)) if shape else 1
        array = np.frombuffer(mapped, dtype=np.dtype(dtype), count=count, offset=start + offset)
        out[name] = array.reshape(tuple(shape))
    return out
