"""Alert writes: set, edit, pause, delete; and the pipeline's check after each batch."""

from __future__ import annotations
