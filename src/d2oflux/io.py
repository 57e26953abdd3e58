"""Compatibility name: the writers of d2oflux live in :mod:`d2oflux.outputs` (atomic files and folders)."""

from __future__ import annotations

from .outputs import write_json_atomic, write_text_atomic

__all__ = ["write_json_atomic", "write_text_atomic"]
