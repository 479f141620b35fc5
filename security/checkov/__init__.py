"""Strata's custom checkov checks (``--external-checks-dir security/checkov``).

checkov has no AWS Batch checks and does not look at launch templates the way the platform relies
on them; these encode what the platform promises. Loaded by checkov only (they import checkov,
which lives in .venv-gates); exercised by tests/gates/test_checkov_custom.py.
"""
