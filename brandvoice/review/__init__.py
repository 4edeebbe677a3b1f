"""The review workflow: reviewers approve, edit or reject drafts; every decision is kept.

    from brandvoice import review
    rows, total = review.list_queue(store, state="pending")
    review.approve(store, actor, draft_id, expected_version=row_version)
    review.audit_trail(store, draft_id)

States and actions live in `actions`, the queue and audit views in `queue`, the feedback loop and
adapter metrics in `feedback`, regeneration of a rejected draft in `regenerate`.
"""

from brandvoice.review.actions import (
    GENERATE_ROLES,
    REASON_CODES,
    REVIEW_ROLES,
    STATES,
    TRANSITIONS,
    BulkResult,
    add_regenerated,
    allowed_actions,
    approve,
    bulk_approve_passed,
    edit,
    edit_distance,
    email_text,
    reject,
    reopen,
    request_regeneration,
    self_approval_allowed,
    text_diff,
)
from brandvoice.review.checks import recheck
from brandvoice.review.feedback import (
    adapter_metrics,
    dashboard,
    feedback_examples,
    negative_examples,
    submit_training,
)
from brandvoice.review.queue import audit_trail, filter_options, get_draft, list_queue, queue_stamp
from brandvoice.review.regenerate import regenerate

__all__ = ["GENERATE_ROLES", "REASON_CODES", "REVIEW_ROLES", "STATES", "TRANSITIONS", "BulkResult",
           "adapter_metrics", "add_regenerated", "allowed_actions", "approve", "audit_trail",
           "bulk_approve_passed", "dashboard", "edit", "edit_distance", "email_text", "feedback_examples",
           "filter_options", "get_draft", "list_queue", "queue_stamp", "negative_examples", "recheck", "regenerate", "reject", "reopen",
           "request_regeneration", "self_approval_allowed", "submit_training", "text_diff"]
