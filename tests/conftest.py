"""Shared fixtures: the two bundled OSM samples, read once per session, and the preset evaluated
on the Shenzhen sample (the maps', the report's, test_gaps' and test_layers' tests read it; none
changes it: one evaluation per session, not one per module)."""

from __future__ import annotations

import warnings

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


@pytest.fixture(scope="session")
def shenzhen_report():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # but pyproject's error::DeprecationWarning:urbancover.* still holds (test_gaps' own copy checked it)
        warnings.filterwarnings("error", category=DeprecationWarning, module=r"urbancover\.")
        return uc.evaluate(SHENZHEN)
