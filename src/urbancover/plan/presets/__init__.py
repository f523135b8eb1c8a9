"""Rule sets shipped with urbancover (TOML files), loaded by name with :func:`urbancover.load_rules`."""
