"""Unit tests of the collection's plugins import them as ansible_collections.runnerfleet.gitlab."""

from tests.unit.plugins.collection import make_importable

make_importable()
