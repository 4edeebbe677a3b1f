"""Cleaning past emails: HTML, tracking links, quoted replies, footers, whitespace, duplicates.

Never mutates its input: every function returns new objects plus a JSON-able account of what it
changed.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlsplit, urlunsplit

from brandvoice.corpus.records import brand_key
from brandvoice.corpus.selection import performance_score

# --- HTML --------------------------------------------------------------------------------------

_HTML_HINT = re.compile(
    r"<\s*/?\s*(html|body|p|div|br|table|td|tr|a|span|h[1-6]|ul|ol|li|strong|em|b|i|img|font|"
    r"center|blockquote)\b[^>]*>", re.IGNORECASE)
_BLOCKS = ("p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "tr",
           "blockquote", "center", "section", "article", "header", "footer")


def looks_like_html(text: str) -> bool:
    """True when the text carries HTML markup (two or more tags)."""
    return len(_HTML_HINT.findall(text)) >= 2


def html_to_text(html: str) -> str:
    """Readable plain text from an HTML email: paragraphs kept, links as 'text (url)'."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "head", "title", "meta"]):
        tag.decompose()
    for img in soup.find_all("img"):  # tracking pixels and decoration carry no voice
        img.decompose()
    for a in soup.find_all("a"):
        href = (a.get("href") or "").strip()
        text = a.get_text(" ", strip=True)
        if href.lower().startswith(("http://", "https://")) and href != text:
            a.replace_with(f"{text} ({href})" if text else href)
        else:
            a.replace_with(text)
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for li in soup.find_all("li"):
        li.insert_before("\n- ")
    for tag in soup.find_all(_BLOCKS):
        tag.insert_before("\n\n")
        tag.insert_after("\n\n")
    for cell in soup.find_all(["td", "th"]):
        cell.insert_after(" ")
    return soup.get_text("")


# --- whitespace --------------------------------------------------------------------------------

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)


def normalize_whitespace(text: str) -> str:
    """Unix newlines, single spaces, no trailing blanks, at most one blank line in a row."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(_INVISIBLE)
    text = text.replace("\u00a0", " ").replace("\t", " ")
    lines = [re.sub(r" {2,}", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# --- tracking links ----------------------------------------------------------------------------

URL_RE = re.compile(r"https?://[^\s<>\"'()\[\]{}]+", re.IGNORECASE)
_TRACK_PARAMS = {"gclid", "fbclid", "msclkid", "yclid", "mc_cid", "mc_eid", "_hsenc", "_hsmi",
                 "hsctatracking", "mkt_tok", "vero_id", "vero_conv", "oly_enc_id", "oly_anon_id",
                 "_ga", "_gl", "igshid", "ck_subscriber_id", "trk", "trkcampaign", "sc_cid"}
_REDIRECT_PARAMS = {"url", "u", "redirect", "redirect_url", "target", "dest", "destination", "to",
                    "link", "goto", "r", "q", "upn_url"}
_TRACK_LABELS = {"click", "clicks", "track", "tracking", "trk", "links", "link", "lnk", "email",
                 "em", "url", "ct", "go2"}
_TRACK_HOSTS = ("safelinks.protection.outlook.com", "list-manage.com", "ct.sendgrid.net",
                "mandrillapp.com", "hubspotlinks.com", "mailgun.org", "mjt.lu", "rs6.net",
                "clicks.aweber.com", "exct.net", "sendibt", "cmail", "createsend")
_TRACK_PATH = re.compile(r"/(?:ls|wf|ss|track|tr)/c(?:lick)?\b|/clicks?(?:/|$)|/ctrk?/|"
                         r"/redirect(?:/|$)|^/url$|^/c/[A-Za-z0-9_-]{6,}", re.IGNORECASE)


def _is_tracker(host: str, path: str) -> bool:
    host = host.lower().split(":")[0]
    labels = host.split(".")
    if len(labels) >= 3 and labels[0] in _TRACK_LABELS:
        return True
    if any(h in host for h in _TRACK_HOSTS):
        return True
    return bool(_TRACK_PATH.search(path))


def clean_url(url: str, _depth: int = 0) -> str | None:
    """The plain destination of a link: redirects unwrapped, utm_* and click ids dropped.

    Returns None for a click-tracking link whose destination cannot be recovered.
    """
    parts = urlsplit(url)
    tracker = _is_tracker(parts.netloc, parts.path)
    if tracker and _depth < 3:
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            if key.lower() in _REDIRECT_PARAMS and value.lower().startswith(("http://", "https://")):
                return clean_url(value, _depth + 1)
        return None
    # Keep the raw pieces of the query so that untouched parameters keep their exact encoding.
    kept = [piece for piece in parts.query.split("&") if piece and not _is_tracking_param(piece)]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "&".join(kept), parts.fragment))


def _is_tracking_param(piece: str) -> bool:
    name = unquote_plus(piece.split("=", 1)[0]).lower()
    return name.startswith("utm_") or name in _TRACK_PARAMS


_GONE = "\x00gone\x00"  # marks a removed link until the punctuation around it is tidied


def strip_tracking(text: str) -> tuple[str, int, int]:
    """Rewrite every URL in text to its clean form; returns (text, links cleaned, links removed)."""
    cleaned = removed = 0

    def fix(m: re.Match) -> str:
        nonlocal cleaned, removed
        url = m.group(0)
        tail = ""
        while url and url[-1] in ".,;:!?":
            url, tail = url[:-1], url[-1] + tail
        new = clean_url(url)
        if new is None:
            removed += 1
            return _GONE + tail
        if new != url:
            cleaned += 1
        return new + tail

    text = URL_RE.sub(fix, text)
    if removed:  # "on us: <link>" -> "on us."; "here (<link>)" -> "here"
        text = re.sub(rf"[ \t]*:[ \t]*{_GONE}[ \t]*(?:([.!?])|$)", lambda m: m.group(1) or ".",
                      text, flags=re.MULTILINE)
        text = text.replace(_GONE, "")
        text = re.sub(r"\s*(\(\s*\)|<\s*>|\[\s*\])", "", text)
        text = re.sub(r"[ \t]+([.,;:!?])", r"\1", text)
    return text, cleaned, removed


# --- quoted replies ----------------------------------------------------------------------------

_ATTRIBUTION = re.compile(
    r"^(?:On\b.{3,300}\bwrote|Am\b.{3,300}\bschrieb|Le\b.{3,300}\ba écrit|El\b.{3,300}\bescribió)"
    r"\s*:\s*$", re.IGNORECASE | re.DOTALL)
_ORIGINAL = re.compile(r"^-{2,}\s*(?:Original Message|Forwarded message)\s*-{2,}$", re.IGNORECASE)


def strip_quoted(text: str) -> tuple[str, bool]:
    """Drop a quoted reply history ("On ... wrote:", Outlook headers, '>' lines); True if changed."""
    lines = text.split("\n")
    cut = None
    for i, line in enumerate(lines):
        s = line.strip()
        nxt = lines[i + 1].strip() if i + 1 < len(lines) else ""
        if (_ATTRIBUTION.match(s) or _ORIGINAL.match(s)
                or (s[:3].lower() == "on " and nxt and _ATTRIBUTION.match(f"{s} {nxt}"))):
            cut = i
            break
        if s.lower().startswith("from:") and any(
                x.strip().lower().startswith(("sent:", "date:")) for x in lines[i + 1:i + 4]):
            cut = i
            break
    kept = lines if cut is None else lines[:cut]
    kept = [line for line in kept if not line.lstrip().startswith(">")]
    return "\n".join(kept), len(kept) != len(lines)


# --- repeated footers --------------------------------------------------------------------------

_FOOTERISH = re.compile(
    r"unsubscribe|opt[- ]?out|(?:email|mail|subscription) preferences|manage (?:your )?"
    r"(?:email |subscription )?(?:preferences|subscription)|privacy policy|all rights reserved|©|"
    r"\(c\) \d{4}|copyright|you(?:'|’| a)re (?:receiving|getting) this|you received this|"
    r"view (?:this email )?in (?:your |a )?browser|no longer wish|sent to \S+@|\bsuite \d+|"
    r"\b[A-Z]{2} \d{5}\b|\bp\.?o\.? box\b", re.IGNORECASE)
_UNSUB = re.compile(r"unsubscribe|opt[- ]?out|manage (?:your )?(?:email )?preferences", re.I)
_SEPARATOR = re.compile(r"^[-_=*~—–·•.\s]+$")


def line_key(line: str) -> str:
    """A line's identity for recurrence counting: case, spacing, URLs and digits ignored."""
    key = URL_RE.sub("<url>", line.strip().lower())
    return re.sub(r"\s+", " ", re.sub(r"\d+", "0", key))


def find_footer_lines(bodies: list[str], *, min_share: float = 0.2,
                      min_emails: int = 3) -> dict[str, tuple[str, int]]:
    """Footer-like lines that recur in many bodies: key -> (first text seen, emails containing it)."""
    df: dict[str, int] = defaultdict(int)
    first: dict[str, str] = {}
    for body in bodies:
        keys = {}
        for line in body.split("\n"):
            if line.strip():
                keys.setdefault(line_key(line), line.strip())
        for key, text in keys.items():
            df[key] += 1
            first.setdefault(key, text)
    need = max(min_emails, math.ceil(min_share * len(bodies)))
    return {k: (first[k], n) for k, n in df.items() if n >= need}


def remove_footer(body: str, recurring: dict[str, tuple[str, int]]) -> tuple[str, int]:
    """Remove recurring footer lines (and recurring lines below them) plus trailing unsubscribe lines."""
    lines = body.split("\n")
    drop: set[int] = set()
    in_footer = False
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        key = line_key(line)
        if key in recurring and (_FOOTERISH.search(line) or in_footer):
            drop.add(i)
            in_footer = True
    nonblank = [i for i, line in enumerate(lines) if line.strip()]
    for i in nonblank[-4:]:  # a one-off unsubscribe line at the end is never part of the voice
        if (_UNSUB.search(lines[i]) and URL_RE.search(lines[i])) or _UNSUB.match(lines[i].strip()):
            drop.add(i)
    kept = [line for i, line in enumerate(lines) if i not in drop]
    while kept and (not kept[-1].strip() or _SEPARATOR.match(kept[-1])):
        kept.pop()
    return "\n".join(kept), len(drop)


# --- duplicates --------------------------------------------------------------------------------


def _norm_text(text: str) -> str:
    return re.sub(r"\s+", " ", text.lower()).strip()


def dedupe(emails: list[Any], *, metric: str = "click_rate", threshold: float = 92.0,
           min_sends: int = 100) -> tuple[list[Any], list[dict]]:
    """Drop exact and near-duplicate bodies within a brand; keep the better-performing copy."""
    from rapidfuzz import fuzz, process

    parent = list(range(len(emails)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    by_brand: dict[str, list[int]] = defaultdict(list)
    for i, e in enumerate(emails):
        by_brand[brand_key(e.brand)].append(i)
    bodies = [_norm_text(e.body) for e in emails]
    for idx in by_brand.values():
        texts = [bodies[i] for i in idx]
        for start in range(0, len(idx), 500):  # chunked so memory stays O(500 x n)
            scores = process.cdist(texts[start:start + 500], texts, scorer=fuzz.ratio,
                                   score_cutoff=threshold, workers=1)
            for r, c in zip(*scores.nonzero(), strict=True):
                a, b = idx[start + int(r)], idx[int(c)]
                if a < b:
                    parent[find(b)] = find(a)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(emails)):
        groups[find(i)].append(i)

    def merit(i: int) -> tuple:  # a copy with enough sends beats a tiny send's lucky rate
        score = performance_score(emails[i], metric)
        enough = (emails[i].sends or 0) >= min_sends
        return (enough, -1.0 if score is None else score, emails[i].sends or 0, -i)

    keep: set[int] = set()
    pairs: list[dict] = []
    for members in groups.values():
        best = max(members, key=merit)
        keep.add(best)
        for i in sorted(members):
            if i == best:
                continue
            exact = (bodies[i] == bodies[best]
                     and _norm_text(emails[i].subject) == _norm_text(emails[best].subject))
            pairs.append({"kept": emails[best].source, "dropped": emails[i].source,
                          "kind": "exact" if exact else "near",
                          "similarity": round(fuzz.ratio(bodies[i], bodies[best]), 1)})
    return [e for i, e in enumerate(emails) if i in keep], pairs


def near_duplicates_of(candidates: list[str], references: list[str], *,
                       threshold: float = 92.0) -> dict[int, int]:
    """Index of each candidate text that near-duplicates a reference text -> that reference's index."""
    from rapidfuzz import fuzz, process

    if not candidates or not references:
        return {}
    scores = process.cdist([_norm_text(t) for t in candidates], [_norm_text(t) for t in references],
                           scorer=fuzz.ratio, score_cutoff=threshold, workers=1)
    return {int(i): int(scores[i].argmax()) for i in range(len(candidates)) if scores[i].max() > 0}


# --- the whole pass ----------------------------------------------------------------------------


def clean_emails(emails: list[Any], *, metric: str = "click_rate", near_threshold: float = 92.0,
                 min_sends: int = 100) -> tuple[list[Any], dict]:
    """HTML->text, tracking links, quoted replies, footers, whitespace, then dedupe; with a report."""
    counts = {"html_to_text": 0, "links_cleaned": 0, "links_removed": 0, "quoted_replies": 0,
              "footer_lines_removed": 0, "emails_with_footer": 0}
    stage: list[Any] = []
    for e in emails:
        body = e.body
        if looks_like_html(body):
            body = html_to_text(body)
            counts["html_to_text"] += 1
        body = normalize_whitespace(body)
        body, quoted = strip_quoted(body)
        counts["quoted_replies"] += quoted
        body, n_clean, n_removed = strip_tracking(body)
        subject, s_clean, s_removed = strip_tracking(normalize_whitespace(e.subject))
        subject = re.sub(r"\s+", " ", subject).strip()
        counts["links_cleaned"] += n_clean + s_clean
        counts["links_removed"] += n_removed + s_removed
        stage.append(replace(e, subject=subject, body=body))

    footer_report: list[dict] = []
    by_brand: dict[str, list[int]] = defaultdict(list)
    for i, e in enumerate(stage):
        by_brand[brand_key(e.brand)].append(i)
    for idx in by_brand.values():
        recurring = find_footer_lines([stage[i].body for i in idx])
        footerish = {k: v for k, v in recurring.items() if _FOOTERISH.search(v[0])}
        for text, n in footerish.values():
            footer_report.append({"brand": stage[idx[0]].brand, "line": text[:160], "emails": n})
        for i in idx:
            body, n = remove_footer(stage[i].body, recurring)
            counts["footer_lines_removed"] += n
            counts["emails_with_footer"] += n > 0
            stage[i] = replace(stage[i], body=normalize_whitespace(body))

    dropped = [{"source": e.source, "reason": "body is empty after cleaning (only quoted text, "
                "links or footer)"} for e in stage if not e.body.strip()]
    dropped += [{"source": e.source, "reason": "subject is empty after cleaning"}
                for e in stage if e.body.strip() and not e.subject]
    stage = [e for e in stage if e.body.strip() and e.subject]
    kept, pairs = dedupe(stage, metric=metric, threshold=near_threshold, min_sends=min_sends)
    report = {"input": len(emails), "output": len(kept), **counts,
              "footer_lines": footer_report, "dropped": dropped,
              "duplicates": pairs, "near_duplicate_threshold": near_threshold,
              "exact_duplicates": sum(p["kind"] == "exact" for p in pairs),
              "near_duplicates": sum(p["kind"] == "near" for p in pairs)}
    return kept, report
