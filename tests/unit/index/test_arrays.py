"""The mapped arrays file (index/arrays.py): what is written is read back, shared read-only."""

from __future__ import annotations

import numpy as np
import pytest

from screening.index.arrays import read_arrays, write_arrays


def test_arrays_round_trip(tmp_path):
    arrays = {
        "offsets": np.arange(7, dtype=np.int64),
        "weights": np.linspace(0, 1, 5, dtype=np.float32),
        "matrix": np.arange(12, dtype=np.int16).reshape(3, 4),
        "text": np.frombuffer("Mohammed Ali\nالعلي".encode(), dtype=np.uint8),
        "empty": np.empty(0, dtype=np.int32),
        "flag": np.asarray(True),
    }
    path = tmp_path / "a.arrays"
    write_arrays(path, arrays)
    back = read_arrays(path)
    assert set(back) == set(arrays)
    for name, array in arrays.items():
        assert back[name].dtype == array.dtype
        assert back[name].shape == array.shape
        assert np.array_equal(back[name], array)
    assert back["text"].tobytes().decode() == "Mohammed Ali\nالعلي"
    with pytest.raises(ValueError):
        back["offsets"][0] = 1  # read-only: the pages are shared
    path.unlink()
    assert back["matrix"][2, 3] == 11  # the mapping outlives the file's name


def test_not_an_arrays_file(tmp_path):
    path = tmp_path / "other"
    path.write_bytes(b"something else entirely")
    with pytest.raises(ValueError):
        read_arrays(path)


def test_object_arrays_are_refused(tmp_path):
    with pytest.raises(TypeError):
        write_arrays(tmp_path / "x", {"names": np.asarray(["a", None], dtype=object)})
