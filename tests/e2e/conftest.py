"""Fixtures of the end-to-end test: the headless browser is the UI tests' own."""

from tests.ui.test_browser import chromium  # noqa: F401  (a session fixture, reused)
