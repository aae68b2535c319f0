"""Pure gateway rules: rate limiting and combining OpenAPI documents."""
