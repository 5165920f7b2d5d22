"""policylang: decide whether an agent's action is allowed, sandboxed, asked or denied."""
