"""Redis URLs for the three topologies."""

from __future__ import annotations

import pytest

from screening.store.connection import RedisTarget


def test_standalone_urls_pass_through():
    for url in ("redis://h:6379/0", "rediss://u:p@h:6380/2", "unix:///tmp/r.sock"):
        target = RedisTarget.parse(url)
        assert (target.topology, target.url) == ("standalone", url)


def test_sentinel_url():
    t = RedisTarget.parse(
        "redis+sentinel://:s3cret@s1:26379,s2,[::1]:26380/screening/2?sentinel_password=x"
    )
    assert t.topology == "sentinel"
    assert t.nodes == (("s1", 26379), ("s2", 26379), ("::1", 26380))
    assert (t.service_name, t.db, t.password, t.username) == ("screening", 2, "s3cret", None)
    assert t._sentinel_kwargs()["password"] == "x"
    assert "s3cret" not in t.redacted()
    assert RedisTarget.parse("rediss+sentinel://s1/m").ssl


def test_cluster_url():
    t = RedisTarget.parse("redis+cluster://user:pw@n1:7000,n2:7001,n3")
    assert t.topology == "cluster"
    assert t.nodes == (("n1", 7000), ("n2", 7001), ("n3", 6379))
    assert (t.username, t.password) == ("user", "pw")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis+sentinel://s1:26379", "service name"),
        ("redis+cluster://n1/3", "no path"),
        ("redis+cluster://", "no host"),
        ("memcached://h", "unsupported"),
        ("redis+proxy://h", "unsupported"),
    ],
)
def test_bad_urls_say_why(url, message):
    with pytest.raises(ValueError, match=message):
        RedisTarget.parse(url)
