"""CRM exports -> contact snapshots: profile detection, validation, opt-outs, activities.

    from brandvoice import crm
    result = crm.import_contacts("hubspot.csv", activities="activities.csv")
    result.contacts, result.excluded, result.problems, result.summary()

Reads HubSpot, Salesforce and Pipedrive exports as those tools write them, and any other CSV through
an explicit column mapping. Column profiles live in `profiles`, activity logs in `activities`,
mappings remembered per header (mapped once in the app) in `mappings`.
"""

from brandvoice.crm.activities import TYPE_ALIASES, load_activities, parse_timestamp
from brandvoice.crm.importer import (
    ImportResult,
    import_contacts,
    recent_contacts,
    snapshot_contacts,
    snapshot_rows,
    valid_email,
)
from brandvoice.crm.mappings import header_key, preview, save_mapping, saved_mapping
from brandvoice.crm.profiles import (
    CANONICAL,
    PROFILES,
    SNAPSHOT_FIELDS,
    load_mapping,
    orient_mapping,
)

__all__ = ["CANONICAL", "PROFILES", "SNAPSHOT_FIELDS", "TYPE_ALIASES", "ImportResult",
           "header_key", "import_contacts", "load_activities", "load_mapping", "orient_mapping",
           "parse_timestamp", "preview", "recent_contacts", "save_mapping", "saved_mapping",
           "snapshot_contacts", "snapshot_rows", "valid_email"]
