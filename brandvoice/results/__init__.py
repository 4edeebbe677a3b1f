"""Campaign results back from the email tools: what worked, how much reviewers edit, and training
that learns from it.

    from brandvoice import results
    res = results.import_results(store, actor, "mailchimp-activity.csv", source="auto")
    rep = results.report(store, metric="reply")        # rates per adapter, template, ... with CIs
    rows = results.edit_metrics(store, by=("period", "adapter"))   # edits week by week
    job_id = results.submit_training(store, settings, config, actor, metric="reply")

Each tool's export format lives in `sources`, the CSV reader in `reader`, mailbox replies in
`replies`, matching rows to exported drafts in `matching`, the import in `importer`, the rates and
comparisons in `report` (statistics in `stats`), edit metrics in `edits`, training selection by
outcome in `learning`. The fair test's assignment is generation's (`generation.holdback`): the
report reads what each draft recorded.
"""

from brandvoice.results.edits import decisions, edit_metrics, edit_summary, words_changed
from brandvoice.results.importer import import_results, list_imports, named_rows, stamp
from brandvoice.results.learning import METRICS as TRAINING_METRICS
from brandvoice.results.learning import outcome_examples, submit_training, training_feedback
from brandvoice.results.report import DIMENSIONS, METRICS, population, report
from brandvoice.results.sources import ALL_SOURCES, KINDS, SOURCES
from brandvoice.results.stats import RULE, wilson

__all__ = ["ALL_SOURCES", "DIMENSIONS", "KINDS", "METRICS", "RULE", "SOURCES", "TRAINING_METRICS",
           "decisions", "edit_metrics", "edit_summary", "import_results", "list_imports",
           "named_rows", "outcome_examples", "population", "report", "stamp", "submit_training",
           "training_feedback", "wilson", "words_changed"]
