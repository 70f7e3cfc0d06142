"""Validated configuration: pydantic models, one module per section, loaded once in entry points."""
