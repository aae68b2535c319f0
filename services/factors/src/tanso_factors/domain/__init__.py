"""Domain model of the factors service (pure Python, no framework imports)."""
