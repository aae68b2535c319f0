"""Tanso activities service."""
