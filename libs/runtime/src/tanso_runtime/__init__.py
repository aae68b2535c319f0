"""tanso_runtime."""
