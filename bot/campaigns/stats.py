"""`/turnout stats`: how the campaign is going, overall and per branch."""

from __future__ import annotations

from bot.campaigns.lifecycle import resolve
from bot.runtime import Runtime
from bot.text import PRACTICE_MARK
from storage.stats import Figures, campaign_figures, suggestion_figures, total

MAX_BRANCHES = 40  # a Slack message stays readable; the export has them all


async def stats_text(rt: Runtime, campaign: str | None) -> str:
    async with rt.db.sessions() as session:
        chosen = await resolve(session, campaign, practice_ok=True)
        per_branch = await campaign_figures(session, chosen.id)
        shown, taken = await suggestion_figures(session, chosen.id)
    overall = total(per_branch)
    title = f"*{chosen.name}* ({chosen.state})"
    if chosen.practice:
        title = f"{PRACTICE_MARK} (simulated members; not in the campaign's figures) · {title}"
    lines = [title, _line("Overall", overall)]
    if shown:
        lines.append(f"*Reply suggestions*: {shown} shown · {taken} taken ({taken / shown:.0%})")
    lines.append("")
    ranked = sorted(per_branch.items(), key=lambda kv: (-kv[1].texted, kv[0]))
    for branch, figures in ranked[:MAX_BRANCHES]:
        lines.append(_line(branch or "(no branch)", figures))
    if len(ranked) > MAX_BRANCHES:
        lines.append(f"… and {len(ranked) - MAX_BRANCHES} more branches")
    return "\n".join(lines)


def _line(label: str, f: Figures) -> str:
    return (
        f"*{label}*: {f.members} members · {f.texts_sent} texts sent · {f.delivered} delivered · "
        f"{f.failed} failed · {f.replies} replies · {f.response_rate:.0%} responded · "
        f"{f.opted_out} opted out"
    )
