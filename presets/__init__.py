"""The built-in presets (TOML files), shipped as the package ``policylang.presets``;
loaded by policylang.config.presets."""
