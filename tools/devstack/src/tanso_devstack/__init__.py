"""Local platform launcher."""
