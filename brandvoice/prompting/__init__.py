"""Prompt templates (prompts/*.j2), the sandbox that renders them, and the one prompt/answer shape
that training and generation share.

    from brandvoice import prompting
    info = prompting.get_template("after_demo", settings)
    brief = prompting.render(info, contact, brand="Ledgerly")
    parsed = prompting.parse_email(model_output)

Templates and rendering live in `templates`, the filters and the neutralizing of CRM values in
`filters`, the brief/answer shape in `shape`, the briefs of past emails (training) in `briefs`,
the bounded sandbox in `sandbox`, the bounded worker process every rendering of a job or preview
runs in (`bounded`: BoundedRenderer), the load-time checks in `lint`, saving and trying out
templates in `editor`, whom a template is for (its header's audience) in `audience`.

One rule per concept, used by rendering, slot filling and the guardrails alike: the greeting
grammar in `greeting`, the sign-off grammar in `signoff`, the placeholder grammar in
`placeholders`, and a brand's layout (greeting, sign-off naming the sender, footer) in `profile`.
"""

from brandvoice.prompting.audience import REASONS, Audience, Fit, fit
from brandvoice.prompting.bounded import BoundedRenderer, Limits
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
from brandvoice.prompting.greeting import (
    Greeting,
    greeting_line,
    opens_with_salutation,
    parse_greeting,
    readdress,
)
from brandvoice.prompting.placeholders import find as find_placeholders
from brandvoice.prompting.profile import (
    PROFILE_KEYS,
    BrandProfile,
    brand_files,
    load_profile,
)
from brandvoice.prompting.shape import (
    ANSWER_PREFIX,
    ParsedEmail,
    brief_header,
    format_email,
    parse_email,
    system_prompt,
)
from brandvoice.prompting.signoff import ends_body, is_signoff, opens_signoff
from brandvoice.prompting.skeleton import (
    Mark,
    SkeletonDraft,
    default_marks,
    draft_skeleton,
    list_tag,
    sentences,
    skeleton_source,
)
from brandvoice.prompting.slots import (
    SLOT_KINDS,
    Skeleton,
    SlotExample,
    SlotLibrary,
    SlotSpec,
    body_paragraphs,
    find_mention,
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

__all__ = ["ANSWER_PREFIX", "CRM_NOTICE", "REASONS", "Audience", "BoundedRenderer", "Fit", "Limits", "fit", "FILL_EXAMPLES", "FILTERS", "HEADER_KEYS",
           "MAX_BRIEF_CHARS", "Mark", "PROFILE_KEYS", "SLOT_KINDS", "BrandProfile", "Greeting", "Hole",
           "ParsedEmail", "Skeleton", "SkeletonDraft", "SlotExample", "SlotLibrary", "SlotSpec",
           "TemplateInfo", "body_paragraphs", "brand_files", "brief_header", "completeness",
           "crm_block", "default_marks", "draft_skeleton", "ends_body", "environment", "fill_answer", "fill_brief",
           "fill_budget", "fill_contact", "fill_system_prompt", "find_mention",
           "find_placeholders", "first_name_or", "format_email", "get_template",
           "greeting_fields", "greeting_line", "holes_for", "is_blank", "is_signoff",
           "list_tag", "list_templates", "load_profile", "mention_kind", "missing_fields", "neutralize",
           "oneline", "opens_signoff", "opens_with_salutation", "parse_email", "parse_fill",
           "parse_greeting", "parse_template", "past_email_contact", "past_email_holes",
           "past_email_slots", "preview", "readdress", "render", "render_skeleton",
           "save_template", "sentences", "skeleton_source", "structure_email", "system_prompt",
           "training_brief"]
