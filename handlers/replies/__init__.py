"""Replies that may be asking to stop: the card in the campaign's channel, and the first member's decision."""
