"""Shared fixtures: the two bundled OSM samples, read once per session."""

from __future__ import annotations

import pytest
from helpers import SHANGHAI, SHENZHEN

import urbancover as uc


@pytest.fixture(scope="session")
def shenzhen_osm():
    return uc.read_osm(SHENZHEN)


@pytest.fixture(scope="session")
def shenzhen_net(shenzhen_osm):
    return uc.walk_network(shenzhen_osm)


@pytest.fixture(scope="session")
def shanghai_net():
    return uc.walk_network(SHANGHAI)
