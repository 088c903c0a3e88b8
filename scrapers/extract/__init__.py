"""From an article page to clean text and metadata: the extractor, cleaning, the fusion of
candidates, per-site adapters.

Empty on purpose: every task imports only the modules it uses (docs/benchmarks.md).
"""
