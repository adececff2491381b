"""Shared pytest setup: fixtures for the real servers the tests run against."""

pytest_plugins = [
    "tests.fixtures.coordinator",
    "tests.fixtures.tls",
    "tests.fixtures.proxies",
]
