"""pelican-engage: cross-post only posts with your own take, and answer everyone."""

from .plugin import register

__all__ = ["register"]
