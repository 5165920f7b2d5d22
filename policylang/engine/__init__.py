"""The engine: ``Policy.decide`` (policy.py), judging effects (judge.py), the verdict cache, the
rule matcher and path sets, the reference evaluator and the policy's own examples.

The engine never imports the policy language (policylang.lang) at run time.
"""
