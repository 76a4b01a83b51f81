"""Checks that skip their regular expression when they can (a fraction of the cost) must give
exactly its verdict. ``is_iri`` answers ASCII text with byte operations: every ASCII character (and
some non-ASCII whitespace) in every role of an IRI, then seeded random strings over the characters
that matter. ``is_language_tag`` remembers its verdicts."""

from __future__ import annotations

import random

import pytest

from aspects.xapi import validation

# Every ASCII character, then non-ASCII ones _IRI treats as whitespace or not.
CHARACTERS = [chr(code) for code in range(128)] + ["\x85", "\xa0", "\u2028", "\u3000", "é", "😀"]
ROLES = [
    "{c}",
    "{c}:x",
    "a{c}:x",
    "h{c}tp://example.org/",
    "a:{c}",
    "a:x{c}",
    "a:x{c}y",
    "a:{c}\n",
    "ab:{c}\n\n",
    "{c}\n",
    "a:\n{c}",
    "https://example.org/{c}/path?q=1#f",
]
ALPHABET = [*"aZ0:/-+.", "\n", " ", "\t", "<", "`", "\\", "é", "\xa0", "%", "#", "\x1c", "\x00"]


def regex_verdict(value: str) -> bool:
    return bool(validation._IRI.match(value))


@pytest.mark.parametrize("role", ROLES)
def test_every_character_in_every_role(role: str) -> None:
    for character in CHARACTERS:
        value = role.format(c=character)
        assert validation.is_iri(value) is regex_verdict(value), repr(value)


def test_random_strings() -> None:
    chooser = random.Random(20261128)
    accepted = 0
    for _ in range(50_000):
        value = "".join(chooser.choice(ALPHABET) for _ in range(chooser.randint(0, 8)))
        if chooser.random() < 0.5:  # a scheme first, so that many are valid
            value = chooser.choice(["a", "http", "x+1.-", "Z9"]) + ":" + value
        verdict = regex_verdict(value)
        accepted += verdict
        assert validation.is_iri(value) is verdict, repr(value)
    assert accepted > 1_000  # the alphabet makes valid IRIs too, not only invalid ones


def test_typical_iris() -> None:
    for value in [
        "https://lms.example.org/xblock/block-v1:Org+C3+2024+type@problem+block@12",
        "http://adlnet.gov/expapi/verbs/completed",
        "urn:uuid:6f1c9d7e-1234-4abc-8def-0123456789ab",
        "mailto:someone@example.org",
        "https://例え.jp/パス",
    ]:
        assert validation.is_iri(value)
    for value in ["", "no-scheme", ":x", "1http://x", "http://a b", "http:", 5, None, ["a:b"]]:
        assert not validation.is_iri(value)


TAGS = [
    "en-US",
    "en",
    "fr-CA",
    "zh-Hant-TW",
    "x-private",
    "i-klingon",
    "de-CH-1996",
    "en-",
    "",
    "1",
]


def test_language_tags_remembered_or_not_give_the_expression_verdict() -> None:
    """is_language_tag remembers its verdicts (bounded): the same answer the first time, when
    remembered, and once its memory is full (then it asks the expression each time)."""
    chooser = random.Random(5646)
    alphabet = [*"aZ09-xXiI", "é"]
    tags = TAGS + [
        "".join(chooser.choice(alphabet) for _ in range(chooser.randint(0, 12)))
        for _ in range(validation._TAG_VERDICTS_MAX + 500)
    ]
    for _ in range(2):
        for tag in tags:
            assert validation.is_language_tag(tag) is bool(validation._LANGUAGE_TAG.match(tag))
    assert len(validation._TAG_VERDICTS) <= validation._TAG_VERDICTS_MAX
    assert not validation.is_language_tag(None)
    assert not validation.is_language_tag(["en"])
