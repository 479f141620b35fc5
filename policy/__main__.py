"""The Strata policy pack: `pulumi preview --policy-pack policy` (run from the repository root).

Creating the PolicyPack starts the analyzer's gRPC server and blocks until the engine is done, so
the rules live in rules.py, importable and tested on their own (tests/gates/test_policy_pack.py).
"""

from pulumi_policy import EnforcementLevel, PolicyPack
from rules import POLICIES

PolicyPack(name="strata", enforcement_level=EnforcementLevel.MANDATORY, policies=POLICIES)
