"""Strata's pure core: names, capacity planning, the Metaflow profile, secret primitives and the base settings types.

Imports the standard library, pydantic and yaml — nothing else of ours (an import-linter contract holds it).
"""
