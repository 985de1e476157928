"""The kinds of Slack delivery the domain can ask the Slack outbox for."""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    # A member's SMS: into the owner's thread, or to the support channel to claim.
    INBOUND = "inbound"
    # Show an outbound SMS's delivery state on its Slack message.
    SMS_STATE = "sms_state"
    # A bot note into the conversation's thread ("opted out", "not sent: ...").
    NOTE = "note"
    # An ephemeral note to one user.
    EPHEMERAL = "ephemeral"
    # Open the conversation in its (new) owner's DM, with the history so far.
    OPEN_THREAD = "open_thread"
    # Turn a Claim card into "claimed by ...".
    CLAIMED = "claimed"
    # Redraw the member card (status changed).
    CARD = "card"
    # Something a coordinator must see, in the support channel.
    ALERT = "alert"
    # Redraw a user's App Home (their queue).
    HOME = "home"
    # A message to one user in their DM with the app.
    DM = "dm"
    # A text Turnout sent for the activist (a script), shown in the thread.
    POST_SENT = "post_sent"
    # Download a roster CSV an organiser shared in their DM and DM them its preview.
    IMPORT_PREVIEW = "import_preview"
    # Import a previewed roster (the organiser clicked Import) and DM the result.
    IMPORT_RUN = "import_run"
    # Delete a message the app posted (with `thread`, also its own replies under it).
    DELETE_MESSAGE = "delete_message"
    # A member's reply has waited: remind its owner, with a link to the thread.
    NUDGE = "nudge"
    # A reply waited too long: to the support channel, with Claim and Reassign.
    ESCALATION = "escalation"
    # Write a CSV export (replacements, outcomes, conversations) and upload it to a DM.
    EXPORT = "export"
    # The daily digest and its turnout chart, in the support channel.
    DIGEST = "digest"
    # An activist's question about a member, as a card in the support channel.
    HELP = "help"
    # Something about a conversation a coordinator should see (a text failed for good,
    # an opt-out), as a card in the support channel with a link to the thread.
    SUPPORT_NOTE = "support_note"
