"""Tanso identity service."""
