"""Tanso calculation service."""
