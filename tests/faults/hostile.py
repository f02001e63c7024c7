"""Hostile and broken scan files for the edge (each a .dat + .xml pair)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
"""


def _with_doctype(xml: str, doctype: str, entity_use: str) -> str:
    body = re.sub(r"^<\?xml[^>]*>\s*", "", xml)
    body = body.replace('name="version" >1<', f'name="version" >{entity_use}<', 1)
    return doctype + body


def write_hostile(folder: Path, good_dat: Path, good_xml: Path, outside: Path,
                  seed: int = 1) -> dict[str, str]:
    """Write every hostile pair into ``folder``; returns stem -> what it is."""
    rng = np.random.default_rng(seed)
    dat, xml = good_dat.read_bytes(), good_xml.read_text()
    secret = outside / "secret.txt"
    made: dict[str, str] = {}

    def pair(stem: str, what: str, d: bytes, x: str | bytes) -> None:
        (folder / f"{stem}.dat").write_bytes(d)
        xb = x.encode() if isinstance(x, str) else x
        (folder / f"{stem}.xml").write_bytes(xb)
        made[stem] = what

    pair("Cam_01_truncated", "truncated .dat", dat[: len(dat) * 6 // 10 + 3], xml)
    pair("Cam_01_oversized", "oversized .dat (1 MiB extra)", dat + os.urandom(1 << 20), xml)
    pair("Cam_01_laughs", "XML entity expansion (billion laughs)", dat,
         _with_doctype(xml, BILLION_LAUGHS, "&lol9;"))
    pair("Cam_01_xxe", "XML external entity", dat, _with_doctype(
        xml, f'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY xxe SYSTEM "file://{secret}">]>\n',
        "&xxe;"))
    huge = re.sub(r'(name="width" >)160<', r"\g<1>4000000<", xml)
    huge = re.sub(r'(name="size" >)(\d+)<', r"\g<1>900000000<", huge)
    pair("Cam_01_sizes", "XML sizes disagree with the file (claims 4M columns)", dat, huge)
    pair("Cam_01_random", "random bytes", rng.bytes(len(dat)), rng.bytes(700))
    pair("Cam_01_..", "name is '..'-prefixed (path traversal attempt)", dat[:100], xml)
    pair("Cam_01_..\\..\\..\\etc\\passwd", "name with backslash separators and ..",
         dat[:100], xml)
    target = outside / "target.dat"
    target.write_bytes(rng.bytes(5000))
    (folder / "Cam_01_symlink.dat").symlink_to(target)
    (folder / "Cam_01_symlink.xml").write_text(xml)
    made["Cam_01_symlink"] = "symlink to a file outside the site"
    return made
