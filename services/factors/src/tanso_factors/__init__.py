"""Tanso factors service."""
