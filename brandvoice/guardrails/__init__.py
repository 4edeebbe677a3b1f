"""Guardrails: every draft is checked for tone, brand policy and personalization before review.

    guard = Guard.for_brand(settings, "Ledgerly", training_emails=emails, heldout_emails=heldout)
    verdicts = guard.check_many([(subject, body, contact), ...], batch_contacts=contacts)
    store_results(store, conn, draft_id, row_version, verdicts[0])
"""

from brandvoice.guardrails.guard import Guard, tone_calibrations
from brandvoice.guardrails.policy import Policy, load_policy
from brandvoice.guardrails.propose import Proposal, policy_path, policy_text, propose, save_policy
from brandvoice.guardrails.verdict import CheckResult, Verdict, store_results, verdict_rows, worst

__all__ = ["CheckResult", "Guard", "Policy", "Proposal", "Verdict", "load_policy", "policy_path",
           "policy_text", "propose", "save_policy", "store_results", "tone_calibrations",
           "verdict_rows", "worst"]
