"""Agent hooks: one tool call's JSON in, the agent's decision out (docs/hooks.md).

Table-driven: ``data/AGENT.toml`` says how an agent's payload maps to policylang actions and how a
verdict is rendered for it (``spec``); ``translate`` builds the actions, ``render`` the answer,
``command`` runs ``policylang hook AGENT``, ``install`` writes the agent's settings entry.
"""
