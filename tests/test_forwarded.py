"""Whose address a request carries, and the production settings that decide it."""

import ipaddress

import pytest

from search.settings import Settings, address_list
from search.web.forwarded import client_address, networks, parse_address, within

LOCAL = networks(["127.0.0.1", "::1"])


def ip(text: str):
    return ipaddress.ip_address(text)


def test_a_direct_client_is_its_peer_address_whatever_it_claims():
    assert client_address("198.51.100.7", "127.0.0.1", LOCAL) == ip("198.51.100.7")


def test_a_trusted_proxy_forwards_the_client_address():
    assert client_address("127.0.0.1", "203.0.113.9", LOCAL) == ip("203.0.113.9")


def test_the_rightmost_untrusted_hop_is_the_client():
    # the client wrote "10.0.0.1" itself; a trusted proxy appended the address it saw
    chain = networks(["127.0.0.1", "192.0.2.10"])
    assert client_address("127.0.0.1", "10.0.0.1, 203.0.113.9, 192.0.2.10", chain) == ip("203.0.113.9")


def test_a_malformed_hop_stops_the_walk_at_what_was_believed_so_far():
    assert client_address("127.0.0.1", "garbage", LOCAL) == ip("127.0.0.1")
    assert client_address("127.0.0.1", "203.0.113.9, junk", LOCAL) == ip("127.0.0.1")


def test_addresses_as_sockets_and_headers_write_them():
    assert parse_address("::ffff:127.0.0.1") == ip("127.0.0.1")
    assert parse_address("[2001:db8::1]:443") == ip("2001:db8::1")
    assert parse_address("203.0.113.9:5555") == ip("203.0.113.9")
    assert parse_address("") is None and parse_address(None) is None and parse_address("unix:/x") is None
    assert within(ip("127.0.0.5"), networks(["127.0.0.0/8"])) and not within(ip("::1"), networks(["127.0.0.0/8"]))
    assert not within(None, LOCAL)


def test_address_lists_are_checked():
    assert address_list("10.0.0.0/8, ::1 192.0.2.1", "X") == ("10.0.0.0/8", "::1/128", "192.0.2.1/32")
    with pytest.raises(ValueError, match="'\\*'"):
        address_list("*", "VNSEARCH_METRICS_ALLOW")
    with pytest.raises(ValueError, match="VNSEARCH_FORWARDED_ALLOW_IPS .*'proxy'"):
        address_list("127.0.0.1,proxy", "VNSEARCH_FORWARDED_ALLOW_IPS")


def test_production_settings_from_the_environment():
    settings = Settings.from_env(
        {
            "VNSEARCH_THREADS": "8",
            "VNSEARCH_CLIENT_TIMEOUT": "0",
            "VNSEARCH_METRICS_ALLOW": "10.1.0.0/16",
            "VNSEARCH_FORWARDED_ALLOW_IPS": "192.0.2.10",
            "VNSEARCH_LOG_FORMAT": "json",
            "VNSEARCH_LOG_QUERIES": "1",
        }
    )
    assert (settings.threads, settings.client_timeout, settings.log_format, settings.log_queries) == (
        8,
        0,
        "json",
        True,
    )
    assert settings.metrics_allow == ("10.1.0.0/16",) and settings.forwarded_allow_ips == ("192.0.2.10/32",)
    default = Settings.from_env({})
    assert default.metrics_allow == ("127.0.0.0/8", "::1") and not default.log_queries


@pytest.mark.parametrize(
    "env, message",
    [
        ({"VNSEARCH_THREADS": "0"}, "VNSEARCH_THREADS must be a whole number at least 1"),
        ({"VNSEARCH_THREADS": "many"}, "VNSEARCH_THREADS must be a whole number"),
        ({"VNSEARCH_CLIENT_TIMEOUT": "-1"}, "VNSEARCH_CLIENT_TIMEOUT must be a number at least 0"),
        ({"VNSEARCH_LOG_FORMAT": "xml"}, "VNSEARCH_LOG_FORMAT is one of text, json"),
        ({"VNSEARCH_LOG_QUERIES": "yes"}, "VNSEARCH_LOG_QUERIES is 1"),
        ({"VNSEARCH_METRICS_ALLOW": "*"}, "VNSEARCH_METRICS_ALLOW"),
        ({"VNSEARCH_FORWARDED_ALLOW_IPS": " , "}, "VNSEARCH_FORWARDED_ALLOW_IPS lists at least one"),
        ({"VNSEARCH_CLIENT_TIMEOUT": "inf"}, "VNSEARCH_CLIENT_TIMEOUT must be a finite number"),
        ({"VNSEARCH_CLIENT_TIMEOUT": "nan"}, "VNSEARCH_CLIENT_TIMEOUT must be a finite number"),
    ],
)
def test_bad_production_settings_are_refused_with_the_variable_named(env, message):
    with pytest.raises(ValueError, match=message):
        Settings.from_env(env)
