"""Delivery of approved drafts: CSV export batches per email tool, and SMTP sending.

    from brandvoice import delivery
    batch = delivery.export(store, actor, "mailchimp", "out.csv")
    delivery.send(store, actor, delivery.SmtpConfig(from_addr="team@brand.example"))

Export profiles live in `profiles`, batches in `export`, SMTP in `send`, the one-draft-per-contact
rule and supersession in `once`, where files may be written and how they appear in `files`.
"""

from brandvoice.delivery.export import (
    EXPORT_ROLES,
    export,
    list_batches,
    recover_exports,
    render,
    render_batch,
)
from brandvoice.delivery.files import check_target
from brandvoice.delivery.once import DUPLICATE_POLICIES
from brandvoice.delivery.profiles import PROFILES, Options, Profile, get_profile
from brandvoice.delivery.send import (
    SEND_ROLES,
    SendError,
    SmtpConfig,
    build_message,
    send,
    settle,
    unconfirmed,
)

__all__ = ["DUPLICATE_POLICIES", "EXPORT_ROLES", "PROFILES", "SEND_ROLES", "Options", "Profile",
           "SendError", "SmtpConfig", "build_message", "check_target", "export", "get_profile",
           "list_batches", "recover_exports", "render", "render_batch", "send", "settle",
           "unconfirmed"]
