"""Brand policy rules (each with passing and failing examples) and policy-file errors."""

from __future__ import annotations

import pytest

from brandvoice.errors import ConfigError
from brandvoice.guardrails.policy import load_policy
from brandvoice.guardrails.text import PhraseMatcher, fk_grade, syllables

POLICY = """
[banned]
words = ["synergy", "best-in-class"]
phrases = ["circle back"]
competitors = ["Closewise", "Tally Point"]

[claims]
terms = ["guarantee", "free", "risk-free"]
idioms = ["feel free"]
percentages = true

[allow]
facts = ["85-95%"]

[length]
subject_min_chars = 5
subject_max_chars = 40
body_min_words = 5
body_max_words = 60

[spam]
words = ["act now", "click here", "winner"]
warn_at = 1
fail_at = 2

[style]
max_exclamations = 1
max_caps_words = 1
caps_allow = ["CFO", "ERP"]

[reading]
max_grade = 8

[[required]]
name = "signature"
literal = "The Acme team"

[[required]]
name = "footer"
pattern = '(?i)unsubscribe'
severity = "warn"
"""
GOOD_BODY = "Hi Dana,\n\nThanks for the call today. Here is the recap you asked for.\n\nThe Acme team\nUnsubscribe"


@pytest.fixture
def policy(tmp_path):
    (tmp_path / "default.toml").write_text(POLICY, encoding="utf-8")
    return load_policy(tmp_path, "Acme")


def result(policy, rule, subject="A fine subject", body=GOOD_BODY):
    return next(r for r in policy.check(subject, body) if r.rule == rule)


@pytest.mark.parametrize("body, status, found", [
    (GOOD_BODY, "pass", None),
    ("Our synergy is unmatched. " + GOOD_BODY, "fail", "synergy"),
    ("We are SYNERGY people. " + GOOD_BODY, "fail", "SYNERGY"),
    ("A best-in-class close. " + GOOD_BODY, "fail", "best-in-class"),
    ("We will circle   back soon. " + GOOD_BODY, "fail", "circle   back"),
    ("Synergyzed is not a word we ban. " + GOOD_BODY, "pass", None),  # whole words only
])
def test_banned(policy, body, status, found):
    r = result(policy, "banned", body=body)
    assert r.status == status
    if found:
        m = r.details["matches"][0]
        assert m["text"] == found
        text = "A fine subject\n\n" + body
        assert text[m["start"]:m["end"]] == found  # the reported span is exact
        assert found in r.message


@pytest.mark.parametrize("body, status", [
    (GOOD_BODY, "pass"),
    ("Unlike Closewise, we post accruals. " + GOOD_BODY, "fail"),
    ("Teams leaving tally point like us. " + GOOD_BODY, "fail"),
    ("Closewiser is another word. " + GOOD_BODY, "pass"),
])
def test_competitor(policy, body, status):
    assert result(policy, "competitor", body=body).status == status


@pytest.mark.parametrize("body, status, term", [
    (GOOD_BODY, "pass", None),
    ("We guarantee a faster close. " + GOOD_BODY, "warn", "guarantee"),
    ("Shipping is free. " + GOOD_BODY, "warn", "free"),
    ("It is risk-free. " + GOOD_BODY, "warn", "risk-free"),
    ("Save 30% on the first year. " + GOOD_BODY, "warn", "30%"),
    ("Save 12.5 percent this year. " + GOOD_BODY, "warn", "12.5 percent"),
    ("Freedom from spreadsheets. " + GOOD_BODY, "pass", None),
    ("Feel free to reply with questions. " + GOOD_BODY, "pass", None),  # an idiom, no offer
    ("Start a free trial today. " + GOOD_BODY, "warn", "free"),
    ("Feel free to start a free trial. " + GOOD_BODY, "warn", "free"),  # the offer still counts
    ("Most teams see 85-95% matched. " + GOOD_BODY, "pass", None),  # an allow-listed fact
])
def test_claims(policy, body, status, term):
    r = result(policy, "claims", body=body)
    assert r.status == status
    if term:
        assert term in [m["text"] for m in r.details["matches"]]


@pytest.mark.parametrize("body, status", [
    (GOOD_BODY, "pass"),
    ("Hi Dana,\n\nThanks for the call today. Talk soon.\nUnsubscribe", "fail"),
    ("Hi Dana,\n\nThanks for the call today, see you.\nThe Acme team", "warn"),
])
def test_required(policy, body, status):
    statuses = {r.rule: r.status for r in policy.check("A fine subject", body)}
    worst = "fail" if "fail" in (statuses["required:signature"], statuses["required:footer"]) else \
        "warn" if "warn" in (statuses["required:signature"], statuses["required:footer"]) else "pass"
    assert worst == status


@pytest.mark.parametrize("subject, body, status", [
    ("A fine subject", GOOD_BODY, "pass"),
    ("Hey", GOOD_BODY, "warn"),
    ("A subject line that goes on far too long for any inbox", GOOD_BODY, "warn"),
    ("A fine subject", "Too short.", "warn"),
    ("A fine subject", " ".join(["word"] * 61), "warn"),
    ("", GOOD_BODY, "fail"),
    ("A fine subject", "   ", "fail"),
])
def test_length(policy, subject, body, status):
    assert result(policy, "length", subject=subject, body=body).status == status


@pytest.mark.parametrize("body, status", [
    (GOOD_BODY, "pass"),
    ("Act now. " + GOOD_BODY, "warn"),
    ("Act now and click here. " + GOOD_BODY, "fail"),
])
def test_spam(policy, body, status):
    assert result(policy, "spam", body=body).status == status


@pytest.mark.parametrize("body, rule, status", [
    ("Great news! " + GOOD_BODY, "exclamations", "pass"),
    ("Great news! Really! " + GOOD_BODY, "exclamations", "warn"),
    ("Your CFO and ERP team. " + GOOD_BODY, "caps", "pass"),
    ("This is HUGE. " + GOOD_BODY, "caps", "pass"),
    ("This is HUGE and URGENT. " + GOOD_BODY, "caps", "warn"),
])
def test_style(policy, body, rule, status):
    assert result(policy, rule, body=body).status == status


def test_reading_level(policy):
    plain = "We fixed the bug. Your close is now fast. " * 5 + GOOD_BODY
    dense = ("Comprehensive reconciliation functionality substantially accelerates organizational "
             "financial consolidation procedures, notwithstanding considerable intercompany "
             "complexity and heterogeneous accounting infrastructure. ") * 2 + GOOD_BODY
    assert result(policy, "reading_level", body=plain).status == "pass"
    r = result(policy, "reading_level", body=dense)
    assert r.status == "warn" and r.score > 8


@pytest.mark.parametrize("word, n", [("cat", 1), ("table", 2), ("close", 1), ("reconcile", 3),
                                     ("automation", 4), ("the", 1), ("simple", 2)])
def test_syllables(word, n):
    assert abs(syllables(word) - n) <= (0 if n <= 2 else 1)


def test_fk_grade_orders_texts():
    easy = "The cat sat. The dog ran. We had fun. " * 5
    hard = ("Institutional accountability necessitates comprehensive documentation of "
            "intercompany reconciliation methodologies. ") * 4
    assert fk_grade("too short") is None
    assert fk_grade(easy) < fk_grade(hard)


def test_phrase_matcher_possessive_and_case():
    m = PhraseMatcher(["Dana"], case_sensitive=True)
    assert [x[1] for x in m.finditer("Dana's team and dana")] == ["Dana"]


def test_shipped_policies_load_and_merge():
    from brandvoice.config import Settings

    d = Settings().guardrails_dir
    led = load_policy(d, "Ledgerly")
    assert [p.name for p in led.files] == ["default.toml", "ledgerly.toml"]
    names = [r.name for r in led.required]
    assert names.count("footer") == 1 and "signature" in names  # brand footer replaced default's
    assert "synergy" in led.raw["banned"]["words"] and "revolutionary" in led.raw["banned"]["words"]
    body = "Hi Dana,\n\nA short recap of the call.\n\n— The Ledgerly team"
    assert result(led, "required:signature", body=body).status == "pass"
    bb = load_policy(d, "Bright Bean")
    assert [p.name for p in bb.files] == ["default.toml", "bright-bean.toml"]
    assert result(bb, "required:signature", body=body).status == "fail"
    assert result(bb, "banned", body="We are writing to follow up on the demo.").status == "fail"


def test_inherit_false_replaces_default_lists(tmp_path):
    (tmp_path / "default.toml").write_text('[claims]\nterms = ["free", "guarantee"]\n', encoding="utf-8")
    (tmp_path / "acme.toml").write_text('[claims]\ninherit = false\nterms = ["guarantee"]\n',
                                        encoding="utf-8")
    (tmp_path / "other.toml").write_text('[claims]\nterms = ["proven"]\n', encoding="utf-8")
    assert load_policy(tmp_path, "Acme").raw["claims"]["terms"] == ["guarantee"]
    assert load_policy(tmp_path, "Other").raw["claims"]["terms"] == ["free", "guarantee", "proven"]


@pytest.mark.parametrize("text, needles", [
    ('[banned]\nwords = ["a", "b"\n', ["line 2", "not valid TOML"]),
    ('[banned]\n\nwords = [a]\n', ["line 3", "column", "not valid TOML"]),
    ('[banned]\nwords = ["a"]\nwrds = ["b"]\n', ["line 3", "banned.wrds", "Did you mean 'words'"]),
    ('[length]\n\nsubject_max_chars = "short"\n', ["line 3", "length.subject_max_chars", "whole number"]),
    ('[spam]\nwarn_at = -1\n', ["line 2", "spam.warn_at"]),
    ('[tone]\ntarget = "precision"\n', ["line 2", "tone.target", "f1, recall"]),
    ('[style]\nseverity = "error"\n', ["line 2", "style.severity", "warn, fail"]),
    ('[bannned]\nwords = []\n', ["line 1", "unknown table", "Did you mean '[banned]'"]),
    ('[[required]]\nname = "sig"\nliteral = "x"\n\n[[required]]\nname = "x"\npattern = "(unclosed"\n',
     ["line 7", "required[1].pattern", "not a valid regex"]),
    ('[[required]]\nname = "sig"\npattern = "a"\nliteral = "b"\n', ["required[0]", "exactly one"]),
    ('banned.words = "not a list"\n', ["line 1", "banned.words", "list of strings"]),
    ('[[required]]\nliteral = "x"\nname = "' + "x" * 61 + '"\n',
     ["line 3", "required[0].name", "longer than 60 characters"]),
])
def test_policy_file_errors_name_key_and_line(tmp_path, text, needles):
    (tmp_path / "default.toml").write_text("", encoding="utf-8")
    (tmp_path / "acme.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_policy(tmp_path, "Acme")
    msg = str(info.value)
    assert "acme.toml" in msg
    for needle in needles:
        assert needle in msg, msg


@pytest.mark.parametrize("brand", ["Ledgerly", "Bright Bean"])
def test_shipped_signature_and_footer_satisfy_their_own_rules(brand):
    from brandvoice import prompting
    from brandvoice.config import Settings
    from brandvoice.guardrails.personalization import PersonalizationChecker

    settings = Settings()
    p = load_policy(settings.guardrails_dir, brand)
    profile = prompting.load_profile(settings.guardrails_dir, brand)
    assert profile == p.profile  # the guardrails read the profile prompting loads
    assert profile.signature and profile.footer
    body = f"Hi Dana,\n\nA short recap of the call.\n\n{profile.signature}\n\n{profile.footer}"
    required = [r for r in p.check("Your recap", body) if r.rule.startswith("required")]
    assert {r.rule for r in required} >= {"required:signature", "required:footer"}
    assert all(r.status == "pass" for r in required)
    assert not prompting.find_placeholders(body, PersonalizationChecker(p).allowed_placeholders)
    lost = [r for r in p.check("Your recap", "Hi Dana,\n\nA short recap.") if r.rule.startswith("required")]
    assert {r.rule: r.status for r in lost} == {"required:signature": "fail", "required:footer": "fail"}


def test_the_profile_requires_its_own_sign_off_and_footer_once(tmp_path):
    (tmp_path / "default.toml").write_text(
        '[[required]]\nname = "footer"\npattern = "unsubscribe"\nseverity = "warn"\n', encoding="utf-8")
    (tmp_path / "acme.toml").write_text('[brand]\nsignature = "— Acme"\nfooter = "Acme Inc."\n',
                                        encoding="utf-8")
    p = load_policy(tmp_path, "Acme")  # the profile's footer replaces the default's requirement
    assert [(r.name, r.severity) for r in p.required] == [("signature", "fail"), ("footer", "fail")]
    assert load_policy(tmp_path, "Other").required[0].severity == "warn"
    (tmp_path / "acme.toml").write_text(
        '[brand]\nfooter = "Acme Inc."\n\n[[required]]\nname = "footer"\nliteral = "Acme"\n',
        encoding="utf-8")
    with pytest.raises(ConfigError, match=r"acme.toml, line 5.*repeats the footer") as err:
        load_policy(tmp_path, "Acme")
    assert "footer_pattern" in err.value.hint
    (tmp_path / "acme.toml").write_text('[brand]\nsignature = "x"\nsignature_pattern = "(unclosed"\n',
                                        encoding="utf-8")
    with pytest.raises(ConfigError, match="signature_pattern"):
        load_policy(tmp_path, "Acme")


def test_policy_file_by_slug_and_by_the_older_compact_name(tmp_path):
    (tmp_path / "default.toml").write_text("", encoding="utf-8")
    (tmp_path / "cafe-ole.toml").write_text('[banned]\nwords = ["slug"]\n', encoding="utf-8")
    (tmp_path / "brightbean.toml").write_text('[banned]\nwords = ["legacy"]\n', encoding="utf-8")
    assert [p.name for p in load_policy(tmp_path, "Café Olé").files] == ["default.toml", "cafe-ole.toml"]
    assert load_policy(tmp_path, "Bright Bean").raw["banned"]["words"] == ["legacy"]  # still read
    (tmp_path / "bright-bean.toml").write_text('[banned]\nwords = ["new"]\n', encoding="utf-8")
    assert load_policy(tmp_path, "Bright Bean").raw["banned"]["words"] == ["new"]  # the slug wins
    assert [p.name for p in load_policy(tmp_path, "!!!").files] == ["default.toml"]
