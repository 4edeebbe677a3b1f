"""A fair test: a share of a campaign's contacts gets the template's own text in every slot.

Which contacts are held back is decided by a hash of the job's seed and the contact's key: random
across contacts, the same every time for one contact (a resumed job, another variant, a
regenerated draft), and independent of the order and the batching of the job. Each held-back
draft records it in its slot choices (source "holdback"), and the share in its settings, so that
the results compare the two arms of one job like with like.
"""

from __future__ import annotations

import hashlib

SOURCE = "holdback"  # the slot source of a held-back draft's slots
MAX_SHARE = 0.5


def contact_key(contact: dict) -> str:
    """The key a contact is assigned by: its CRM record id, else its address."""
    return str(contact.get("key") or contact.get("email") or "")


def held_back(seed: int, contact: dict, share: float) -> bool:
    """Whether this contact is in the held-back share of a job seeded with `seed`."""
    if share <= 0:
        return False
    digest = hashlib.sha256(f"holdback|{seed}|{contact_key(contact)}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share
