"""See docs/service-layout.md."""
