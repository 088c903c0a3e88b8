"""Text primitives shared by the stages: URL normalisation and dedup keys, encoding detection,
dates as sources state them, and languages.

Empty on purpose: every task imports only the modules it uses (docs/benchmarks.md).
"""
