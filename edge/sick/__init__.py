"""SICK iCon scans: read (memory-mapped) and write ``.dat`` + ``.xml`` pairs.

``read_scan(path)`` accepts either file of a pair and returns a :class:`Scan` whose
``arrays`` hold every subcomponent (``Range``, ``Intensity``, ``Scatter``, ``Mark``,
``Range X``, ``Range R``, ``Image`` ...) as a read-only ``(lines, width)`` view with the
stored little-endian dtype. ``write_scan`` writes a pair the same way a camera does.
"""

from edge.sick._format import MAX_XML_BYTES, VALUE_TYPES
from edge.sick.mark import MarkFields, decode_mark, encode_status
from edge.sick.reader import Scan, pair_paths, read_scan
from edge.sick.writer import write_scan

__all__ = [
    "MAX_XML_BYTES",
    "VALUE_TYPES",
    "MarkFields",
    "Scan",
    "decode_mark",
    "encode_status",
    "pair_paths",
    "read_scan",
    "write_scan",
]
