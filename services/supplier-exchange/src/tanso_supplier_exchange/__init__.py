"""Tanso supplier-exchange service."""
