"""The listed names of an index held encoded (model/packed.py): the candidate search works
on the index's arrays and lookups, and a screening reads a few prepared listed names (the
candidates the search keeps, about six). Held as objects, the shared lists' 72,000 prepared
names cost a worker 58 MB; encoded, a fifth of it, mapped from the index file and shared by
the workers. A name decodes straight into its PreparedName (a msgspec Struct) in about a
microsecond."""

from __future__ import annotations

import msgspec

from screening.matching.names import PreparedName
from screening.model.packed import PackedSequence

_ENCODER = msgspec.msgpack.Encoder()
_DECODER = msgspec.msgpack.Decoder(PreparedName)

encode_name = _ENCODER.encode


class NameTable(PackedSequence[PreparedName]):
    """Prepared names by position, each encoded by encode_name."""

    @staticmethod
    def decode(data: memoryview) -> PreparedName:
        return _DECODER.decode(data)
