"""Tanso reporting service."""
