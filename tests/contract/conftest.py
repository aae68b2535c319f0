"""Contract tests: committed schemas and AsyncAPI documents, their history, and consumers' needs."""

import sys
from pathlib import Path

# ``consumer_expectations`` sits beside the tests (pytest runs with --import-mode=importlib).
sys.path.insert(0, str(Path(__file__).parent))
