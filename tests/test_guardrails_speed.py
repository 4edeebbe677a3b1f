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


def test_the_date_prefilter_never_skips_a_date():
    from datetime import date

    today = date(2026, 12, 1)
    extra = ["Nov 27", "ends Nov. 27", "will run through December 3rd", "NOV 2", "ſep 9", "May 1",
             "\u0130an 5", "jan 31", "until October 30, 2026", "Nov 275"]
    rng = random.Random(6)
    texts = list(_texts(2000, 6)) + [" ".join(rng.choice(extra + WORDS) for _ in range(8))
                                     for _ in range(2000)]
    for t in texts:
        if quality._DATE.search(t):
            assert quality._may_have_date(t), t
    assert quality.past_dates("The offer ends Nov 27, so reply soon.", today) == ["Nov 27"]


def test_loops_looked_for_part_by_part_find_what_the_plain_search_finds():
    def plain(t):
        for part in quality._PARTS.split(t):
            found = quality._loop(text.lower_words(part),
                                  [text.lower_words(s) for s in text.sentences(part) or [part]])
            if found:
                return found
        return None

    rng = random.Random(7)
    words = ["the", "team", "the team", "close", "Close.", "books", "that", "had", "e-book", "\n\n"]
    for t in [*_texts(2000, 7), *(" ".join(rng.choice(words) for _ in range(14)) for _ in range(3000))]:
        assert quality.loops(t) == plain(t), t


def _plain_names(sents, known, own):
    """New and foreign names, each looked for in a pass of its own (as they were first written)."""
    new, foreign = [], []
    own_low = " ".join(own.lower().split())
    for sent in sents:
        lead = len(sent) - len(sent.lstrip(" \"“'(—-"))
        for m in quality._CAPITAL.finditer(sent):
            tokens = m.group(0).split()
            for tok in tokens[1:] if m.start() == lead else tokens:
                low = tok.lower().strip("'’-")
                if low and tok not in ("I", "OK") and low not in known \
                        and low.rstrip("s").rstrip("'’") not in known:
                    new.append(tok)
        for m in quality._CAPITAL.finditer(sent):
            tokens = m.group(0).split()
            if m.start() == lead and tokens[0].lower() in quality._common_words():
                tokens = tokens[1:]
            if len(tokens) >= 2 and " ".join(tokens).lower() not in own_low:
                foreign.append(" ".join(tokens))
    return list(dict.fromkeys(new)), list(dict.fromkeys(foreign))


def test_names_found_in_one_pass_are_new_and_foreign_names_found_apart():
    rng = random.Random(8)
    words = ["Dana", "Harbor Health", "The", "Acme", "team", "Hi", "Bluefield Clinics", ".", "\n\n",
             "Ledgerly", "Close", "said", "I", "OK", "John Davis's", "(", "“"]
    known = {"dana", "team", "ledgerly"}
    for t in [*_texts(1000, 8), *("".join(rng.choice(words) + rng.choice(" .\n") for _ in range(12))
                                  for _ in range(3000))]:
        sents = quality.sentences(t) or [t]
        plain = _plain_names(sents, known, "Acme | Dana Reyes")
        assert quality._names(sents, known, "Acme | Dana Reyes") == plain, t
        assert (quality.new_names(t, known), quality.foreign_names(t, "Acme | Dana Reyes")) == plain


def test_sentences_normalized_in_one_pass_are_normalized_one_by_one():
    from brandvoice.guardrails import integrity

    for t in [*_texts(3000, 9), "Go. Go!  go?\n\nGO", "ǂ mark. Two", "Σ end. ΑΣ. İ x"]:
        plain = [integrity._SPACE_NONWORD(s.lower()).strip() for s in text.sentences(t)]
        assert integrity._normal_sentences(t) == plain, t
