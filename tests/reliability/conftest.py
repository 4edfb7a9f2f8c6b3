"""Fixtures of the reliability tests: a small test video and clusters of real processes on PostgreSQL."""

from functools import partial

import pytest

from tests.support.cluster import run_cluster
from tests.support.videos import make_video


@pytest.fixture(scope="session")
def small_video(tmp_path_factory):
    """A tiny clip, so that a download or a frame extraction costs little CPU on a shared machine."""
    return make_video(tmp_path_factory.mktemp("video") / "clip.mp4", seconds=3, size="160x120")


@pytest.fixture
def cluster_factory(postgres_url, tmp_path):
    """`with cluster_factory(workers, fault_delay_s=…, env=…) as cluster:` runs a whole cluster in the
    test's own database; when the block fails, every process's log tail is printed."""
    return partial(run_cluster, postgres_url, tmp_path)
