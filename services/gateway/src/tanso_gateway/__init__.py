"""Tanso gateway service."""
