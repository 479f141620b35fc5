"""Tools around the program: the platform CLI, the plan export and gates, IAM document extraction, cost and capacity.

They import the composition root (infra) and the local cloud; nothing imports them (an import-linter contract).
"""
