"""Relevance in three languages: scoring with the rule files in `rules/`, and the tag vocabulary.

Empty on purpose: every task imports only the modules it uses (docs/benchmarks.md).
"""
