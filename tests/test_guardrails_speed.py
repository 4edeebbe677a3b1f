"""The guardrails' shortcuts (shared, cached and chunked text work) give exactly what the plain
computation gives, on random texts made of the characters where they could differ."""

from __future__ import annotations

import random

from brandvoice.guardrails import quality, text
from brandvoice.prompting import parse_greeting, placeholders

# letters, word-internal marks, sentence ends, closing quotes and brackets, white space of several
# kinds, placeholder marks, and letters whose lower case is longer or depends on context
ALPHABET = list("aAsSxX  ..!?…\"')]([-’'\n\n\t{}<>%*|_19,") + ["\u2028", "\xa0", "İ", "Σ", "ß"]
WORDS = ["Dana", "free", "team", "Hi", "xxx", "XXX", "{{first_name}}", "[Name]", "Dana's", "e-book",
         "ledgerly.example", "Go.", '"Yes."', "(see)", "Acme", "ΑΣ"]


def _texts(n: int, seed: int):
    rng = random.Random(seed)
    for _ in range(n):
        pieces = [rng.choice(WORDS) if rng.random() < 0.4 else rng.choice(ALPHABET)
                  for _ in range(rng.randrange(0, 40))]
        yield "".join(pieces)


def test_chunked_tokens_match_one_regex_pass():
    for t in [*_texts(3000, 1), "", "  a  b", "Dana's  ‘free’—now!!", "İstanbul", "x\u2028- y"]:
        got = text.Tokens(t)
        parts = text._TOKEN_SPLIT.split(t)
        orig = parts[1::2]
        assert got.orig == orig, t
        assert got.low == text.Tokens._lowered(t, orig), t
        order = list(range(len(orig)))
        random.Random(len(t)).shuffle(order)  # offsets asked in any order, chunk starts found once
        assert [got.start(i) for i in order] == [sum(map(len, parts[:2 * i + 1])) for i in order], t


def test_words_and_sentences_of_joined_parts():
    texts = list(_texts(4000, 2))
    for a, b, c in zip(texts, texts[1:], texts[2:], strict=False):
        for parts in ([a, b], [a, b, c], [a, ""], ["", b]):
            joined = "\n\n".join(parts)
            assert text.joined_words(parts) == text.words(joined), parts
            assert text.joined_sentences(parts) == text.sentences(joined), parts
    assert text.joined_sentences(['He said "go."', "Fine."]) == ['He said "go.', "Fine."]


def test_lowered_words():
    for t in _texts(2000, 3):
        assert text.lowered(text.words(t)) == [w.lower() for w in text.words(t)]
        assert text.lower_words(t) == [w.lower() for w in text.words(t)]


def test_placeholders_without_the_xxx_branch_find_the_same():
    for t in _texts(3000, 4):
        assert placeholders.find(t) == [m.group(0) for m in placeholders.PLACEHOLDER.finditer(t)], t


def test_known_words_view_and_word_cache_judge_like_a_union():
    vocabulary = {"ledgerly", "flux", "acme"}
    for t in [*_texts(1000, 5), "Tallypointer foobared the ledgerly flux-capacitor xyzzy-acme Dana"]:
        view = quality.KnownWords({"dana"}, vocabulary)
        union = {"dana"} | vocabulary
        assert quality.unknown_share(t, view) == quality.unknown_share(t, union)
        assert quality.new_names(t, view) == quality.new_names(t, union)


def test_generic_greeting_words_cached_per_set_stay_per_set():
    body = "Hi Bean Team,\n\nNews."
    assert parse_greeting(body, generic=frozenset({"bean team"})).kind == "generic"
    assert parse_greeting(body, generic=frozenset({"BEAN TEAM"})).kind == "generic"
    assert parse_greeting(body, generic=frozenset({"kestrel team"})).kind == "company"
    assert parse_greeting(body, generic=["Bean Team"]).kind == "generic"
    assert parse_greeting(body).kind == "company"
