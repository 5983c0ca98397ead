"""YAML presets, loaded by name with :func:`toolkit.config.load_config`."""
