"""Fetching: the one HTTP seam, politeness (robots.txt, per-host spacing), and each source's fetch
cadence and backoff.

Empty on purpose: every task imports only the modules it uses (docs/benchmarks.md).
"""
