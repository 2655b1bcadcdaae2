"""Renderers: pure functions from a platform-neutral Card to one platform's format."""
