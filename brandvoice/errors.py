"""Typed errors. Every message names the file, row or field at fault and says how to fix it."""

from __future__ import annotations


class BrandvoiceError(Exception):
    """Base class for errors meant to be shown to a user as they are (no traceback)."""

    def __init__(self, message: str, *, hint: str | None = None):
        self.message = message
        self.hint = hint
        super().__init__(message if not hint else f"{message}\nHow to fix: {hint}")

    def __str__(self) -> str:  # the full text a CLI or UI shows
        return self.message if not self.hint else f"{self.message}\nHow to fix: {self.hint}"


class InputError(BrandvoiceError):
    """A user-supplied file, row or field is invalid."""

    def __init__(self, message: str, *, hint: str | None = None, problems: list[str] | None = None):
        self.problems = problems or []
        super().__init__(message, hint=hint)

    def __str__(self) -> str:
        text = self.message
        if self.problems:
            shown = self.problems[:20]
            text += "\n" + "\n".join(f"  - {p}" for p in shown)
            if len(self.problems) > len(shown):
                text += f"\n  ... and {len(self.problems) - len(shown)} more"
        if self.hint:
            text += f"\nHow to fix: {self.hint}"
        return text


class ConfigError(BrandvoiceError):
    """A setting or a config/policy file is invalid."""


class ModelError(BrandvoiceError):
    """A model, adapter or the package that ships it is missing or incompatible."""


class NotFoundError(BrandvoiceError):
    """A named thing (adapter, draft, template, user, job) does not exist."""


class PermissionDenied(BrandvoiceError):
    """The acting user's role does not allow the action."""


class ConflictError(BrandvoiceError):
    """Someone else changed the record first (optimistic concurrency)."""


class StateError(BrandvoiceError):
    """An action is not allowed in the record's current state."""


class TemplateError(BrandvoiceError):
    """A prompt template is invalid or cannot render."""

    def __init__(self, message: str, *, hint: str | None = None, template: str | None = None,
                 line: int | None = None):
        self.template = template
        self.line = line
        super().__init__(message, hint=hint)


class ExportError(BrandvoiceError):
    """An export cannot be written in the target tool's format."""
