"""The review workflow: reviewers approve, edit or reject drafts; every decision is kept.

    from brandvoice import review
    rows, total = review.list_queue(store, state="pending")
    review.approve(store, actor, draft_id, expected_version=row_version)
    review.bulk_preview(store, actor)          # exactly what bulk_approve_passed would approve
    review.audit_trail(store, draft_id)

Reviewer actions live in `actions` (the states and their one writer are `store.lifecycle`'s), bulk approval in `bulk`, the admin's review policy in
`policy`, the queue and audit views in `queue`, rechecks in `checks`, the feedback loop and
metrics (adapter metrics, pass precision) in `feedback`, regeneration of a rejected draft in
`regenerate`.
"""

from brandvoice.review.actions import (
    DELIVERED,
    GENERATE_ROLES,
    OVERRIDE,
    REASON_ALIASES,
    REASON_CODES,
    REGENERATE_ROLES,
    REVIEW_ROLES,
    STATES,
    TRANSITIONS,
    allowed_actions,
    approval_blocker,
    approve,
    canonical_reason,
    edit,
    edit_distance,
    email_text,
    reject,
    reopen,
    text_diff,
)
from brandvoice.review.bulk import BulkResult, bulk_approve_passed, bulk_preview
from brandvoice.review.checks import job_contacts, recheck
from brandvoice.review.feedback import (
    adapter_metrics,
    dashboard,
    feedback_examples,
    negative_examples,
    pass_precision,
    reviewed_examples,
    submit_training,
)
from brandvoice.review.policy import get_review_policy, self_approval_allowed, set_review_policy
from brandvoice.review.queue import (
    audit_trail,
    check_notes,
    filter_options,
    get_draft,
    list_queue,
    queue_stamp,
)
from brandvoice.review.regenerate import add_regenerated, regenerate, request_regeneration

__all__ = ["DELIVERED", "GENERATE_ROLES", "OVERRIDE", "REASON_ALIASES", "REASON_CODES",
           "REGENERATE_ROLES", "REVIEW_ROLES", "STATES", "TRANSITIONS", "BulkResult",
           "adapter_metrics", "add_regenerated", "allowed_actions", "approval_blocker", "approve", "audit_trail",
           "bulk_approve_passed", "bulk_preview", "canonical_reason", "check_notes", "dashboard", "edit",
           "edit_distance", "email_text", "feedback_examples", "filter_options", "get_draft",
           "get_review_policy", "job_contacts", "list_queue", "negative_examples", "pass_precision",
           "queue_stamp", "recheck", "regenerate", "reject", "reopen", "request_regeneration",
           "reviewed_examples", "self_approval_allowed", "set_review_policy", "submit_training", "text_diff"]
