"""The policy language, compile time only: grammar, parse, typed nodes, validate, compile, CEL, shadowing.

Nothing on the decide path imports this package: a compiled Policy holds only engine objects.
"""
