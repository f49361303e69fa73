"""The words a person reads for the codes storage keeps: do-not-contact reasons and the channels changes come
through."""

from __future__ import annotations

REASON_LABELS = {
    "requested": "Requested by the prospect",
    "not-target": "Not target audience",
    "no-interest": "No interest",
    "other": "Other",
    "domain-blocked": "Domain blocked",
}
CHANNEL_LABELS = {
    "slack": "Slack",
    "unsubscribe-link": "the unsubscribe link",
    "import": "an import",
    "cli": "the command line",
    "bulk": "a bulk request",
}
