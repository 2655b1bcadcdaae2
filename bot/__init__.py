"""The chat side of ndrbot: settings, composition root, adapters, renderers and the CLI."""
