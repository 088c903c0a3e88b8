"""PostgreSQL: the store, the run's load, search rows, the digest, the page's queries, migrations.

Empty on purpose: every task imports only the modules it uses (docs/benchmarks.md).
"""
