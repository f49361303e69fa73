"""The one place a Slack Web API client is built. Each use differs only in how long it may wait and whether a
failed call is tried again on the spot:

- the Bolt app's listeners: `slack_client(token, url)`, one retry on a dropped connection or a 429;
- role checks, inside Slack's three seconds: `slack_client(token, url, timeout=2, retries=False)`;
- the notification worker: `slack_client(token, url, retries=False)`, since its outbox retries for it;
- start-up checks and the CLI: `slack_client(token, url)`.
"""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler


def slack_client(token: str, base_url: str, *, timeout: int = 10, retries: bool = True) -> WebClient:
    """`timeout`: seconds per call. `retries`: try a call once more after a dropped connection, or after a 429
    once its Retry-After has passed."""
    handlers = ([ConnectionErrorRetryHandler(max_retry_count=1), RateLimitErrorRetryHandler(max_retry_count=1)]
                if retries else [])
    return WebClient(token=token, base_url=base_url, timeout=timeout, retry_handlers=handlers)
