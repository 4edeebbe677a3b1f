"""Delivery of approved drafts: CSV export batches per email tool, and SMTP sending.

    from brandvoice import delivery
    batch = delivery.export(store, actor, "mailchimp", "out.csv")
    delivery.send(store, actor, delivery.SmtpConfig(from_addr="team@brand.example"))

Export profiles live in `profiles`, batches in `export`, SMTP in `send`.
"""

from brandvoice.delivery.export import EXPORT_ROLES, export, list_batches, render
from brandvoice.delivery.profiles import PROFILES, Options, Profile, get_profile
from brandvoice.delivery.send import SEND_ROLES, SendError, SmtpConfig, build_message, send

__all__ = ["EXPORT_ROLES", "PROFILES", "SEND_ROLES", "Options", "Profile", "SendError",
           "SmtpConfig", "build_message", "export", "get_profile", "list_batches", "render", "send"]
