"""The one typed site configuration shared by edge, cloud and dashboard.

Load it with :func:`load_config`; every section is a pydantic model with
``extra="forbid"`` so a misspelt key fails at start-up with its dotted path.
"""

from schemas.config.loader import load_config, load_config_text
from schemas.config.site import CameraConfig, SiteConfig, TrainConfig

__all__ = ["CameraConfig", "SiteConfig", "TrainConfig", "load_config", "load_config_text"]
