"""Clean-room wheel-scan generator following ../shared/WHEELS.md only.

Written without reading the project's simulator or model code. Layers:
``params`` (ranges from WHEELS.md and sampling), ``surface`` (a good wheel's height and
intensity), ``defects`` (catalogue defects stamped on a surface), ``camera`` (encoding
into Ranger E55 / Ranger3 / calibrated FLOAT iCon files) and ``dataset``
(``make_dataset``: scans + ``labels.csv`` + ground truth).
"""

from tests.blind.gen.camera import CAMERAS, CameraSpec
from tests.blind.gen.dataset import make_dataset

__all__ = ["CAMERAS", "CameraSpec", "make_dataset"]
