"""Configuration: settings layers from config.toml, presets and the admin file, the TOML loader with
its schema diagnostics, the built-in policy, the linter, preset switching, and the compiled-policy cache."""
