"""Which exported draft a result row is about: by Message-ID, by draft id, or by the address it
went to (within the batches given, else the batch sent last before the event).

The index holds every exported or sent draft (export_items), so a file of 100,000 rows is matched
with dictionary lookups, not a query per row. A row it cannot place is named with the reason.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from email.utils import parseaddr

import sqlalchemy as sa

from brandvoice.store import contacts, drafts, export_batches, export_items


@dataclass(frozen=True)
class Sent:
    """One exported (or sent) draft: the batch it left in and the address it went to."""

    draft_id: int
    batch_id: int
    batch_at: str  # when the batch was made (UTC ISO)
    email: str
    message_id: str | None


def address(value: str | None) -> str:
    """An address as compared: "Dana <DANA@x.example>" -> "dana@x.example" ("" when none)."""
    text = (value or "").strip()
    if "<" in text:
        text = parseaddr(text)[1]
    return text.strip().strip("<>").lower()


def message_id(value: str | None) -> str:
    """A Message-ID as compared: without angle brackets and spaces, lower case."""
    return (value or "").strip().strip("<>").strip().lower()


class Index:
    """The exported drafts, looked up by address, Message-ID and draft id."""

    def __init__(self, rows: list[Sent]):
        self.by_email: dict[str, list[Sent]] = defaultdict(list)
        self.by_message_id: dict[str, Sent] = {}
        self.by_draft: dict[int, list[Sent]] = defaultdict(list)
        for s in rows:
            self.by_email[s.email].append(s)
            self.by_draft[s.draft_id].append(s)
            if s.message_id:
                self.by_message_id[s.message_id] = s

    @classmethod
    def load(cls, conn: sa.Connection) -> Index:
        """Every exported or sent draft in the store."""
        q = (sa.select(export_items.c.draft_id, export_items.c.batch_id, export_items.c.message_id,
                       export_batches.c.created_at, contacts.c.email)
             .join(export_batches, export_batches.c.id == export_items.c.batch_id)
             .join(drafts, drafts.c.id == export_items.c.draft_id)
             .join(contacts, contacts.c.id == drafts.c.contact_id))
        return cls([Sent(r.draft_id, r.batch_id, r.created_at, address(r.email),
                         message_id(r.message_id) or None) for r in conn.execute(q)])

    @property
    def batches(self) -> set[int]:
        """The ids of every batch in the index."""
        return {s.batch_id for sents in self.by_draft.values() for s in sents}

    def match(self, *, email: str = "", message_ids: tuple[str, ...] = (), draft_id: int | None = None,
              batches: frozenset[int] = frozenset(), when: str = "") -> tuple[Sent | None, str]:
        """(the draft, how it was matched) or (None, why not)."""
        for mid in message_ids:
            hit = self.by_message_id.get(mid)
            if hit is not None:
                return hit, "message_id"
        if draft_id is not None:
            return self._by_draft(draft_id, email, batches)
        if not email:
            if message_ids:
                return None, (f"Message-ID <{message_ids[0]}> is not one brandvoice sent, and "
                              "the row names no address")
            return None, "no email address in the row"
        return self._by_address(email, batches, when)

    def _by_draft(self, draft_id: int, email: str, batches: frozenset[int]) -> tuple[Sent | None, str]:
        found = [s for s in self.by_draft.get(draft_id, []) if not batches or s.batch_id in batches]
        if not found:
            where = f" in batch {_list(batches)}" if batches and self.by_draft.get(draft_id) else ""
            return None, f"draft {draft_id} was not exported or sent{where}"
        if email and found[0].email != email:
            return None, f"draft {draft_id} went to {found[0].email}, not {email}"
        return found[-1], "draft_id"

    def _by_address(self, email: str, batches: frozenset[int], when: str) -> tuple[Sent | None, str]:
        every = self.by_email.get(email)
        if not every:
            return None, f"no exported or sent draft went to {email}"
        cands = [s for s in every if s.batch_id in batches] if batches else every
        if not cands:
            return None, (f"{email} received drafts in batch {_list(s.batch_id for s in every)}, "
                          f"not in batch {_list(batches)}")
        if when:
            before = [s for s in cands if s.batch_at[:19] <= when[:19]]
            if not before:
                first = min(cands, key=lambda s: s.batch_at)
                return None, (f"the event ({when}) is older than every batch sent to {email} "
                              f"(the first, batch {first.batch_id}, on {first.batch_at[:19]})")
            return max(before, key=lambda s: (s.batch_at, s.batch_id)), "address"
        if len(cands) == 1:
            return cands[0], "address"
        return None, (f"{email} received drafts in batches {_list(s.batch_id for s in cands)} "
                      "and the row has no time to tell which one; import it with its batch")


def _list(ids) -> str:
    ordered = sorted(set(ids))
    return ", ".join(str(i) for i in ordered)
