"""Strata for data scientists: fetch and install your team's Metaflow profile.

Needs only Metaflow, boto3 and typer; the platform's own commands (validate, local) live in the
platform install and are added to the same ``strata`` command when it is present.
"""

__version__ = "0.1.0"
