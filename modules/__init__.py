"""Strata's components: one package per platform layer."""
