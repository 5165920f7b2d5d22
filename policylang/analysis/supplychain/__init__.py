"""The supply-chain check of package installs (docs/supply-chain.md)."""
