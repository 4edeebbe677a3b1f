"""The one greeting parser (prompting.greeting) and its three readers: training briefs, the
personalization guardrail and the demo's re-addressed past emails."""

from __future__ import annotations

import pytest

from brandvoice.prompting import parse_greeting


@pytest.mark.parametrize("body, kind, salutation, who, name", [
    ("Hi Dana,\n\nThanks.", "person", "Hi", "Dana", "Dana"),
    ("Hello, Dana!", "person", "Hello", "Dana", "Dana"),
    ("Hi — Dana,", "person", "Hi", "Dana", "Dana"),
    ("Good  morning O'Brien,", "person", "Good morning", "O'Brien", "O'Brien"),
    ("Hi again, Malik,", "person", "Hi again", "Malik", "Malik"),
    ("Dear Dana Reyes,", "person", "Dear", "Dana Reyes", "Dana"),
    ("Dear Dr. Lee,", "person", "Dear", "Dr. Lee", ""),
    ("Hi Dana and Lee,", "person", "Hi", "Dana and Lee", ""),
    ("Hi {{first_name}},", "person", "Hi", "{{first_name}}", ""),
    ("Dana,\n\nA recap.", "person", "", "Dana", "Dana"),
    ("Hi Kestrel Logistics team,", "company", "Hi", "Kestrel Logistics team", "Kestrel Logistics"),
    ("Hi the Acme team,", "company", "Hi", "the Acme team", "Acme"),
    ("Hi sales team,", "generic", "Hi", "sales team", ""),
    ("Hi there,", "generic", "Hi", "there", ""),
    ("Hello, coffee person,", "generic", "Hello", "coffee person", ""),
    ("Hi Coffee Lovers,", "generic", "Hi", "Coffee Lovers", ""),
    ("Hello,", "generic", "Hello", "", ""),
    ("Hi ,", "generic", "Hi", "", ""),
    ("Thanks,\n\nBody", "none", "", "", ""),
    ("Your trial ends on Friday.", "none", "", "", ""),
    ("", "none", "", "", ""),
])
def test_parse_greeting(body, kind, salutation, who, name):
    g = parse_greeting(body)
    assert (g.kind, g.salutation, g.who, g.name) == (kind, salutation, who, name)


def test_where_the_greeting_is_in_the_body():
    body = "\n  **Hi again, Dana,** good to see you.\nMore."
    g = parse_greeting(body)
    assert body[g.span[0]:g.span[1]] == "Dana" and body[:g.end].endswith("Hi again, Dana,")
    hello = parse_greeting("Hello,\nBody")
    assert hello.span == (5, 5) and hello.end == 6  # where a name would go
    blank = parse_greeting("Hi  ,\nBody")
    assert blank.blank and blank.span == (2, 4)
    html = parse_greeting("<p>Hi&nbsp;Dana,</p>")
    assert html.name == "Dana" and html.span is None and html.end is None  # not the body's text


def test_flags_names_and_extra_generic_words():
    assert parse_greeting("Hi [First Name],").placeholder
    assert parse_greeting("Hi <First Name>,").placeholder  # not taken for an HTML tag
    assert parse_greeting("Dear Ms Lee,").titled and parse_greeting("Dear Ms Lee,").names() == ["Lee"]
    assert parse_greeting("Hi Dana and Lee Park,").names() == ["Dana", "Lee Park"]
    assert parse_greeting("Hi Night Owls,").kind == "person"
    assert parse_greeting("Hi Night Owls,", generic=["night owls"]).kind == "generic"
    assert parse_greeting("Hi Bean Team,", generic=["bean team"]).kind == "generic"


@pytest.mark.parametrize("body, expected", [
    ("Hi there,\n\nBody", "Hi Priya,\n\nBody"),
    ("Hello,\n\nBody", "Hello Priya,\n\nBody"),
    ("Hello, coffee person,\nBody", "Hello, Priya,\nBody"),
    ("Hi again, Bluefield Clinics team,\nBody", "Hi again, Priya,\nBody"),
    ("Hi Dana, good to see you.\nBody", "Hi Priya, good to see you.\nBody"),
    ("Dana,\nBody", "Hi Priya,\nBody"),
    ("Your trial ends Friday.", "Hi Priya,\n\nYour trial ends Friday."),
])
def test_a_past_email_is_readdressed(body, expected):
    from brandvoice.prompting import readdress

    assert readdress(body, "Priya") == expected


@pytest.fixture(scope="module")
def checker():
    from brandvoice.guardrails.personalization import PersonalizationChecker

    return PersonalizationChecker(None, [{"subject": "s", "body": "Dear Dr. Okafor,\n\nHi Elena Ruiz,\nThanks."}])


def _greeting(checker, first_line, contact):
    return next(r for r in checker.check("s", first_line + "\n\nBody text.", contact) if r.rule == "greeting")


@pytest.mark.parametrize("first_line, status", [
    ("Hi Northwind Freight team,", "pass"),
    ("Hi Northwind team,", "pass"),
    ("Hi Bluestem Health team,", "fail"),       # another contact's company
    ("Dear Ms Reyes,", "pass"),
    ("Dear Dr. Lee,", "fail"),                  # another surname
    ("Marcus,", "fail"),                        # a bare name is a greeting too
    ("Dana,", "pass"),
    ("Hi again, Dana,", "pass"),
    ("Hi *|FNAME|*,", "fail"),
])
def test_personalization_reads_the_same_greeting(checker, first_line, status):
    dana = {"first_name": "Dana", "last_name": "Reyes", "company": "Northwind Freight"}
    assert _greeting(checker, first_line, dana).status == status


def test_training_names_come_from_greetings(checker):
    assert {"Okafor", "Elena Ruiz"} <= checker.training.names
