"""Prompt templates (prompts/*.j2), the sandbox that renders them, and the one prompt/answer shape
that training and generation share.

    from brandvoice import prompting
    info = prompting.get_template("after_demo", settings)
    brief = prompting.render(info, contact, brand="Ledgerly")
    parsed = prompting.parse_email(model_output)

Templates and rendering live in `templates`, the filters and the neutralizing of CRM values in
`filters`, the brief/answer shape in `shape`, the briefs of past emails (training) in `briefs`,
the one greeting parser (briefs, the personalization guardrail, the demo) in `greeting`, the
bounded sandbox in `sandbox`, the load-time checks in `lint`, saving and trying out templates (a
bounded worker process) in `editor`.
"""

from brandvoice.prompting.briefs import CRM_NOTICE, crm_block, greeting_fields, training_brief
from brandvoice.prompting.editor import preview, save_template
from brandvoice.prompting.fill import (
    FILL_EXAMPLES,
    Hole,
    fill_answer,
    fill_brief,
    fill_budget,
    fill_contact,
    fill_system_prompt,
    holes_for,
    parse_fill,
    past_email_contact,
    past_email_holes,
)
from brandvoice.prompting.filters import FILTERS, first_name_or, is_blank, neutralize, oneline
from brandvoice.prompting.greeting import Greeting, parse_greeting
from brandvoice.prompting.shape import (
    ANSWER_PREFIX,
    ParsedEmail,
    brief_header,
    complete_brand_elements,
    format_email,
    parse_email,
    system_prompt,
    with_footer,
)
from brandvoice.prompting.skeleton import SkeletonDraft, draft_skeleton, skeleton_source
from brandvoice.prompting.slots import (
    SLOT_KINDS,
    Skeleton,
    SlotExample,
    SlotLibrary,
    SlotSpec,
    body_paragraphs,
    find_mention,
    greeting_line,
    mention_kind,
    past_email_slots,
    structure_email,
)
from brandvoice.prompting.templates import (
    HEADER_KEYS,
    MAX_BRIEF_CHARS,
    TemplateInfo,
    completeness,
    environment,
    get_template,
    list_templates,
    missing_fields,
    parse_template,
    render,
    render_skeleton,
)

__all__ = ["ANSWER_PREFIX", "CRM_NOTICE", "FILL_EXAMPLES", "FILTERS", "Hole", "fill_answer",
           "fill_brief", "fill_budget", "fill_contact", "fill_system_prompt", "holes_for",
           "parse_fill", "past_email_contact", "past_email_holes", "Greeting", "HEADER_KEYS", "MAX_BRIEF_CHARS",
           "ParsedEmail", "SLOT_KINDS", "Skeleton", "SkeletonDraft", "SlotExample", "SlotLibrary",
           "SlotSpec", "TemplateInfo", "body_paragraphs", "brief_header",
           "complete_brand_elements", "completeness", "crm_block", "draft_skeleton", "environment",
           "find_mention", "first_name_or", "format_email", "get_template", "greeting_fields",
           "greeting_line", "is_blank", "list_templates", "mention_kind", "missing_fields",
           "neutralize", "oneline", "parse_email", "parse_greeting", "parse_template",
           "past_email_slots", "preview", "render", "render_skeleton", "save_template",
           "skeleton_source", "structure_email",
           "system_prompt", "training_brief", "with_footer"]
