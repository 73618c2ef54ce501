"""Benchmarks of the store console: each module's main() prints its figures; run_all.py runs them all.

They need PostgreSQL and Redis (BENCH_DATABASE_URL, BENCH_REDIS_URL; see bench/harness.py), never the
embedded SQLite default: the figures are meant to say something about a real deployment.
"""
