"""Keep secrets out of state, traces and logs: error texts from providers and gateways can
echo an API key, a bearer token or a URL with credentials in it."""

from __future__ import annotations

import re

_SECRETS = (
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 [secret]"),
    (re.compile(r"\b(sk|pk|rk|hf|gsk|xai|ghp|gho|glpat)[-_][A-Za-z0-9_-]{8,}"), "[secret]"),
    (re.compile(r"\bAIza[0-9A-Za-z_-]{20,}"), "[secret]"),
    (
        re.compile(r"(?i)\b(api[-_]?key|access[-_]?token|token|key|secret|password)=[^&\s\"']+"),
        r"\1=[secret]",
    ),
    (re.compile(r"(?i)(https?://)[^/\s:@]+:[^/\s@]+@"), r"\1[secret]@"),
)


def scrub(text: str) -> str:
    """``text`` with anything that looks like a credential replaced by ``[secret]``."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


def looks_like_secret(value: str) -> bool:
    """Whether ``value`` is probably a key itself rather than, say, a variable's name."""
    return scrub(value) != value or (
        len(value) >= 24 and any(c.islower() for c in value) and any(c.isdigit() for c in value)
    )
