"""`engage sync` and `engage hide`: bring the conversation back, and moderate it."""

from __future__ import annotations
