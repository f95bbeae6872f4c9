"""Arrow arrays to and from numpy without pandas: the buffers the pre-filter and the binary encoder share.

pyarrow's own conversions (pa.array(), pa.scalar(), to_numpy() on booleans, fill_null) import pandas
on first use, about 0.4 s before the first batch reaches COPY; these build from and read the buffers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa


def arrow_array(values: Any) -> pa.Array:
    """A pyarrow array from a numpy array (bool, int32, int64) or a sequence of str, built from its
    buffers: the first call of pa.array() (and of pa.scalar(), to_numpy() on booleans, fill_null)
    imports pandas, ~0.4 s before the first batch reaches COPY."""
    import numpy as np
    import pyarrow as pa

    if not isinstance(values, np.ndarray):
        encoded = [str(value).encode() for value in values]
        offsets = np.zeros(len(encoded) + 1, np.int32)
        np.cumsum([len(value) for value in encoded], out=offsets[1:])
        data = pa.py_buffer(b"".join(encoded))
        return pa.Array.from_buffers(pa.string(), len(encoded), [None, pa.py_buffer(offsets), data])
    if values.dtype == bool:
        bits = np.packbits(values, bitorder="little")
        return pa.Array.from_buffers(pa.bool_(), len(values), [None, pa.py_buffer(bits)])
    arrow_type = {np.dtype(np.int32): pa.int32(), np.dtype(np.int64): pa.int64()}[values.dtype]
    return pa.Array.from_buffers(arrow_type, len(values), [None, pa.py_buffer(np.ascontiguousarray(values))])


def _bits(buffer: Any, offset: int, length: int) -> Any:
    """numpy bool per bit of an Arrow bitmap (values or validity)."""
    import numpy as np

    bits = np.unpackbits(np.frombuffer(buffer, np.uint8), bitorder="little")
    return bits[offset : offset + length].astype(bool)


def valid_rows(values: pa.Array) -> Any:
    """numpy bool per row: not null (to_numpy() would import pandas, see arrow_array)."""
    import numpy as np

    if values.null_count == 0:
        return np.ones(len(values), bool)
    if values.null_count == len(values):
        return np.zeros(len(values), bool)
    return _bits(values.buffers()[0], values.offset, len(values))


def true_rows(condition: pa.Array) -> Any:
    """numpy bool per row: the boolean array is true (null counts as false)."""
    return _bits(condition.buffers()[1], condition.offset, len(condition)) & valid_rows(condition)


def string_buffers(values: pa.Array) -> tuple[Any, Any, Any]:
    """(offsets, data bytes, validity) of a string array as numpy arrays (zero copy)."""
    import numpy as np
    import pyarrow as pa

    if values.type != pa.string():
        raise TypeError(f"unexpected column type {values.type}")  # the fast path gives the file up

    _, offsets_buffer, data_buffer = values.buffers()
    offsets = np.frombuffer(offsets_buffer, np.int32, count=len(values) + 1, offset=values.offset * 4)
    data = np.frombuffer(data_buffer, np.uint8) if data_buffer is not None else np.zeros(0, np.uint8)
    return offsets, data, valid_rows(values)
