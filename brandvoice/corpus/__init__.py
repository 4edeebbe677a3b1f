"""Past emails -> validated, cleaned, selected and split training records (the corpus).

    from brandvoice import corpus
    c = corpus.prepare("emails.csv", brand="Ledgerly")   # load, clean, select, split
    c.train, c.test, c.selection["explanation"], c.report

Reading lives in `reader`, cleaning in `clean`, selection and the split in `selection`, the record
types in `records`, the whole pass in `prepare`.
"""

from brandvoice.corpus.prepare import choose, clean, data_hash, prepare
from brandvoice.corpus.reader import (
    ALIASES,
    MAX_CELL_CHARS,
    MAX_FILE_BYTES,
    LoadResult,
    file_brands,
    load_emails,
    read_emails,
)
from brandvoice.corpus.records import (
    COUNTS,
    KNOWN,
    METRICS,
    REQUIRED,
    TEXTS,
    Corpus,
    Email,
    brand_key,
    normalize_metric,
)
from brandvoice.corpus.selection import (
    MIN_GROUP,
    MODES,
    check_rule,
    performance_score,
    select,
    split,
    wilson_lower_bound,
)

__all__ = ["ALIASES", "COUNTS", "KNOWN", "MAX_CELL_CHARS", "MAX_FILE_BYTES", "METRICS", "MIN_GROUP",
           "MODES", "REQUIRED", "TEXTS", "Corpus", "Email", "LoadResult", "brand_key", "check_rule",
           "choose", "clean", "data_hash", "file_brands", "load_emails", "normalize_metric",
           "performance_score", "prepare", "read_emails", "select", "split", "wilson_lower_bound"]
