"""Fixtures for the GitLab client tests.

Until tests/conftest.py lists "tests.fixtures.proxies" and "tests.fixtures.tls" in
`pytest_plugins` (pytest refuses `pytest_plugins` in a nested conftest), the fixtures are
imported here, which registers them for this directory.
"""

from __future__ import annotations

from tests.fixtures.proxies import squid, squid_auth, tinyproxy_chain
from tests.fixtures.tls import test_pki, tls_coordinator

__all__ = ["squid", "squid_auth", "test_pki", "tinyproxy_chain", "tls_coordinator"]
