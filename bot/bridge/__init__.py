"""The bridge: a member's SMS into a Slack thread and the thread back to SMS.

Inbound webhooks, outbound texts, claims, opt-out and consent, the support
channel's posts, and the two durable outboxes (SMS to Twilio, posts to Slack)
with the workers that drain them.
"""
