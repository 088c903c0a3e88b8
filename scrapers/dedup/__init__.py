"""Duplicates and stories: content hashes, and MinHash/LSH story clusters.

Empty on purpose: every task imports only the modules it uses (docs/benchmarks.md).
"""
