"""One file per revision; a revision that has shipped is never edited."""
