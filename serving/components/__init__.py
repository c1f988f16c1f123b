"""Pulumi component resources, one module per concern."""
