"""Reply suggestions: what a member's text most likely means, or nothing.

Rules over the plain spelling of the text (`reply_words.plain`), written for
the replies a get-out-the-vote campaign really gets, in English and Welsh.
Each rule gives one outcome a strong or a weak signal; negations and time
are rules of their own ("not posted it yet" is no vote; "will post it
tomorrow" is a promise), so the rule for a vote never sees them. A
campaign's `examples:` phrases add signals for any outcome, whatever its key.

A wrong suggestion costs more than none, so the classifier stays silent
when signals disagree, when the text asks a question it cannot answer, or
when the campaign has no such outcome. Nothing here records or sends
anything: a suggestion is a button the activist may click.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from bot.campaigns.campaign_file import CampaignSpec
from bot.scripts.reply_words import plain, tokens

OPT_OUT = "opt_out"
STRONG, MEDIUM, WEAK = 0.9, 0.8, 0.6
THRESHOLD = 0.75
EXAMPLE_MATCH = 0.6
# An SMS is at most 1,600 characters; a longer body is read no further.
MAX_CHARS = 1600

_NEG = r"(?:not|never|no|did not|have not|has not|ddim|heb|dim)"
_DONE = r"(?:posted|sent|voted|returned|submitted|mailed|done|popped)"
_LATER = (
    r"(?:tonight|tomorrow|weekend|later|today|soon|monday|tuesday|wednesday|thursday|friday"
    r"|saturday|sunday|morning|evening|next week|this week|asap|heno|fory|yfory|penwythnos)"
)
_BALLOT = r"(?:ballot|paper|papers|pack|form|one|it|mine|anything|vote|voting|papur|bapur)"
_ACT = r"(?:post|send|vote|do|fill|return|pop|get|drop|sort|complete|stick)"


@dataclass(frozen=True, slots=True)
class Rule:
    outcome: str
    weight: float
    pattern: re.Pattern[str]


def _rules(weight: float, outcome: str, *patterns: str) -> list[Rule]:
    return [Rule(outcome, weight, re.compile(p)) for p in patterns]


# Spans that must not read as a vote: "not posted it", "haven't voted yet".
_NEGATED_DONE = re.compile(rf"\b{_NEG}(?: \w+){{0,2}}? {_DONE}\b")

RULES = [
    *_rules(
        STRONG,
        "voted",
        rf"\b(?:already|just|finally|have|has|i|we) {_DONE}\b",
        rf"^(?:yes )?(?:i |we )?{_DONE}(?: it| mine| that| mine off| it off| already| yes)*$",
        rf"\b{_DONE} (?:it|mine|ours|my ballot|my vote|the ballot|the paper|the form|off|back"
        rf"|in)\b",
        r"\b(?:its|it is|it has|it was|thats|mine is|mines|mine was) (?:been )?"
        r"(?:in the post|posted|sent|done|gone|off|returned)\b",
        r"^(?:yes |all )?sorted\b",
        r"\bgave it to the post",
        r"\bwedi (?:\w+ )?hala\b",
        rf"^(?:yes |ok |hi \w+ yes |yes i have )?(?:\w+ )?{_DONE}\b(?! by)",
        r"\b(?:yes|yep|all|ok) (?:done|posted|sent)\b",
        r"\byes(?: \w+)? (?:i have|i did|did it|have)\b",
        r"\b(?:did|done) it\b",
        r"\b(?:went|gone) (?:off|in the post|in)\b",
        r"\bposted (?:now|already|ages|last|yesterday|on|this|that)\b",
        r"\bdid post\b",
        r"\b(?:wedi|di|nes i|nes i|mae o|mae e|ma fe|ma fo) (?:ei |i )?(?:\w+ )?(?:b|p|ph)?ostio\b",
        r"\b(?:lenwi|llenwi) a i (?:b|p)ostio\b",
        r"\bvoted\b",
        r"\b(?:wedi|newydd) (?:i |ei )?(?:p|b|ph)?(?:leidleisio|ostio|anfon|hanfon|gneud"
        r"|gwneud|neud|yrru|gyrru)\b",
        r"^do\b(?! (?:i|you|we|they|it|not)\b)",
        r"\byn barod\b",
    ),
    *_rules(
        MEDIUM,
        "voted",
        r"\bin the (?:post|postbox|post box|letterbox)\b",
        r"\bits sent\b",
        r"\byn y post\b",
    ),
    *_rules(WEAK, "voted", r"^(?:yes|yes thanks|yes please|yes mate|ydw|ydw tad|ok yes)$"),
    *_rules(
        STRONG,
        "will_vote",
        r"\bnot yet\b",
        rf"\b{_NEG}(?: \w+){{0,2}}? {_DONE}(?: \w+){{0,2}}? yet\b",
        rf"\b(?:will|going to|plan to|planning to|intend to|about to|gonna|meaning to|hoping to"
        rf"|aim to)(?: \w+){{0,2}}? {_ACT}\b",
        rf"\bi will\b(?: \w+){{0,4}}? {_LATER}\b",
        r"\b(?:will|going to) vote\b",
        r"\bon (?:my|the) (?:list|to do list|todo list)\b",
        r"\bwill do\b",
        r"\bwill make sure\b",
        r"\bgetroundto\b",
        r"\b(?:i am|im|but i am) going to$",
        r"\bbut i will$",
        r"\bdoing it (?:now|tonight|today|later|on|this|at|tomorrow|after)\b",
        r"\bneeds? to (?:post|send|find a stamp)\b",
        r"\bneed a stamp\b",
        r"\bhave not made it to (?:a|the) post",
        r"\b(?:bydda|byddai|mi fydda) i\b",
        r"\byes i will\b",
        rf"^(?:\w+ )?{_LATER}(?: \w+)?$",
        r"\bnot quite yet\b",
        r"\b(?:intending|planning|meaning) to\b",
        r"\b(?:just|still) (?:need|needs|got|have) to (?:post|send|fill|do)\b",
        r"\b(?:walking|heading|going|off) to the (?:post box|postbox|post office)\b",
        r"\bits in my (?:bag|car|pocket)\b",
        r"\bget it in the post\b",
        r"\bhave not (?:had a chance|got round|gotten round|had time)\b",
        r"\b(?:na|wna) i (?:fe|fo|e|o)? ?(?:fory|heno|wythnos)\b",
        r"\bdwi am (?:neud|wneud|bostio|bleidleisio)\b",
        r"\b(?:dim|ddim|heb)(?: \w+){0,2} eto\b",
        r"\b(?:mi |fe )?(?:wna|wnai|wnaf|na i|naf|neith|wneith)\b",
        r"\b(?:mynd i|am) (?:b|p|ph)?(?:leidleisio|ostio)\b",
    ),
    *_rules(
        STRONG,
        "replacement",
        rf"\b(?:never|not|nothing|no|did not|have not|has not|not yet)(?: \w+){{0,2}}? "
        rf"(?:got|gotten|received|had|arrived|come|came|turned up|seen|been sent)"
        rf"(?: \w+){{0,2}}? {_BALLOT}\b",
        r"\b(?:did not|never) (?:get|receive)\b",
        rf"\b(?:waiting|still waiting) (?:for|on) (?:my |the |a )?{_BALLOT}\b",
        r"\b(?:nothing|nothings|nothing has|it has not|mine has not|mine still has not|still has"
        r" not) (?:\w+ )?(?:come|arrived|turned up)\b",
        r"\bif i had a ballot\b",
        r"^(?:it |mine )?never (?:came|arrived|turned up|got it)\b",
        r"\bno (?:paper|ballot|pack)\b",
        r"\bcan not find (?:it|mine|my ballot|the ballot|the paper)\b",
        r"\b(?:went|sent|gone) to (?:my )?(?:old|previous|wrong|\w+s) (?:address|house|flat)\b",
        r"\b(?:soaked|wet|ruined|cant read it|can not read it)\b",
        r"\bsomeone elses name\b",
        r"\b(?:requested|asked for|ordered) (?:a )?(?:new|duplicate|replacement|another)\b",
        r"\bhen (?:gyfeiriad|cyfeiriad)\b",
        r"\bges i ddim\b",
        rf"\b{_BALLOT} (?:has |have |did )?(?:never|not|did not|has not|have not|still not)"
        rf"(?: \w+)? (?:arrived|come|came|turned up|been delivered|got here)\b",
        r"\bno ballot\b",
        r"\b(?:lost(?! interest| track| count| the will| touch| my job)"
        r"|lose (?:it|mine|my ballot|the ballot|my paper|the paper)|misplaced|spoiled"
        r"|spoilt"
        r"|ruined|damaged|ripped|torn|binned|chucked"
        r"|recycled|shredded|chewed|spilt|spilled|thrown it|threw it|threw away|thrown away"
        r"|put it in the bin|ate it|ate my)\b",
        r"\b(?:another|new|replacement|duplicate|spare|second|fresh) (?:one|ballot|paper|pack|form"
        r"|copy)\b",
        r"\breplacement\b",
        r"\bsend (?:me )?(?:another|a new|one)\b",
        r"\b(?:moved|move|moving) (?:house|address|home|flat)\b",
        r"\b(?:old|wrong|previous) address\b",
        r"\bheb (?:gael|cael|dderbyn|derbyn|weld|gyrraedd)\b",
        r"\bdim (?:papur|bapur|phapur|pleidlais|bleidlais)\b",
        r"\b(?:wedi |di )?(?:colli|golli|difetha)\b",
        r"\b(?:un|papur|bapur|ffurflen) (?:newydd|arall)\b",
        r"\bddim wedi (?:cyrraedd|dod|cael)\b",
    ),
    *_rules(
        STRONG,
        "wrong_number",
        r"\bwrong (?:number|person|no|num|guy|girl|phone|fella|bloke|one)\b",
        r"\bno (?:one|body|\w+) (?:here|by that name|called|at this number|on this number)\b",
        r"\b(?:not|is not) (?:\w+s |my |your |his |her )?(?:number|phone|mobile)\b",
        r"\bmy name(?:s| is)? not\b",
        r"\bhad this number\b",
        r"\bdo not know (?:a|any|anyone|anybody|who|this|no)\b",
        r"\bnew number\b",
        r"\b(?:old|new) number\b",
        r"\bnumber new\b",
        r"\bno idea who\b",
        r"\bnobody called\b",
        r"^(?:no |nope )?not (?!yet|now|really|sure|quite|today|me|again|voting|bothered|voted"
        r"|posted|sent|done|interested|going|happy|bad|great|good)\w+$",
        r"\bi am not \w+(?: \w+)? (?:you|wrong|must|sorry)\b",
        r"\bi am not (?:who|whoever)\b",
        r"\bmixed up with someone\b",
        r"\b(?:my|his|her) (?:son|daughter|brother|sister|husband|wife|dad|mum|partner)s? "
        r"(?:old )?(?:phone|number)\b",
        r"\bthis is (?:my|his|her) (?:old )?(?:phone|number)\b",
        r"\b(?:rhif|rif) (?:rong|anghywir)\b",
        r"\bhen rif\b",
        r"\bnever heard of\b",
        r"\bdont know (?:a|any|anyone|who)\b",
        r"\b(?:rhif|person) anghywir\b",
        r"\banghywir\b",
        r"\b(?:neb|dim) (?:o'r enw|\w+) (?:yma|fan hyn|fama)\b",
        r"\b(?:ddim|dim) yn (?:nabod|adnabod)\b",
    ),
    *_rules(
        STRONG,
        "not_member",
        r"\bleft (?:the |my )?(?:union|job|company|work|nhs|council|school|there|employer"
        r"|that job|trust|years ago|last year|in)\b",
        r"\b(?:not|no longer|never been|never was) (?:a |in the |in a |part of the |with the )?"
        r"(?:member|union|in the union)\b",
        r"\bretired\b",
        r"\b(?:no longer|do not|not|never) work(?:ing)? (?:there|for|at|in)\b",
        r"\b(?:cancelled|canceled|ended|stopped|quit|left) (?:my )?(?:membership|subs|union)\b",
        r"\bresigned\b",
        r"\b(?:different|another|other) union\b",
        r"\bstopped paying (?:my )?subs\b",
        r"\b(?:through|for|with) an agency now\b",
        r"\bnot (?:with|at) the (?:council|company|trust|nhs)\b",
        r"^i left(?: (?:lol|ages ago|years ago|last year|last month|in \w+|in 20\d\d))?$",
        r"\bnot been a member\b",
        r"\bquit the union\b",
        r"\bnot covered\b",
        r"\bnot even in the union\b",
        r"\bnot eligible\b",
        r"\b(?:not|were not|was not|is not|am not) (?:included|part of (?:this|the) "
        r"(?:ballot|dispute)|covered|in scope)\b",
        r"\bcancelled (?:my )?direct debit\b",
        r"\b(?:adael|gadael) yr undeb\b",
        r"\bchanged (?:jobs|job|employer)\b",
        r"\bnew job\b",
        r"\bredundan(?:t|cy)\b",
        r"\b(?:wedi |di )?(?:ymddeol|riteirio)\b",
        r"\b(?:wedi |di )gadael\b",
        r"\b(?:ddim|dim) yn aelod\b",
        r"\b(?:ddim|dim) yn (?:yr |y )?undeb\b",
        r"\b(?:ddim|dim) yn gweithio\b",
    ),
    *_rules(
        STRONG,
        OPT_OUT,
        r"\b(?:do not|never|stop|quit|cease|no more|please stop)(?: \w+){0,2}? (?:text|message"
        r"|contact|send(?:ing)? me|bother|pester|harass|spam|call)",
        r"\bremove me\b",
        r"\b(?:remove|delete|take) (?:me|my (?:number|details|name)) (?:off|from|out)\b",
        r"\bdelete my (?:number|details)\b",
        r"\b(?:off|from) (?:your|the|this) (?:list|system|database|mailing)\b",
        r"\bunsubscribe\b",
        r"\bopt (?:me )?out\b",
        r"\bleave me (?:alone|be)\b",
        r"^(?:just |please |pls )?go away\b",
        r"\brather not (?:receive|get) (?:text|message)",
        r"\bstop (?:it|pls|please)(?: now| x)?$",
        r"\bdo not want to be (?:contacted|text)",
        r"\bstop it now\b",
        r"\bstopiwch\b",
        r"\bdo not want (?:any )?(?:more )?(?:text|message)",
        r"\bnot text me\b",
        r"\bpaid (?:hala|gyrru|yrru) (?:tecsts|negeseuon)\b",
        r"\bpeidiwch (?:a |â |ag )?(?:th|t|d)?ecstio\b",
        r"\bpeidiwch (?:a |â |ag )?(?:chysylltu|cysylltu|anfon|hanfon|gyrru|yrru|hala)\b",
        r"\bpaid (?:a |â |ag )?(?:tecstio|decstio|anfon|cysylltu)\b",
        r"\b(?:tynnwch|tynnu|dynnu) (?:fi|fy rhif|fy enw)\b",
        r"\bdim mwy o (?:negeseuon|decsts|tecsts|decst|tecst)\b",
        r"\bgadewch (?:lonydd|llonydd)\b",
    ),
]

# A question the activist must answer: no vote or promise is read into it.
_QUESTION = re.compile(
    r"^(?:who|what|how|when|where|which|should|pwy|beth|sut|pryd|ble|lle|pam)\b"
    r"|^(?:can|could|do|does|did|is|are|have|has|am) (?:i|you|we|they|it|there|this|that)\b"
)
# Doubt: "not sure", "I don't know if I've voted".
_DOUBT = re.compile(
    r"\b(?:do not know|not sure|unsure|no idea if|can not remember|do not remember|dunno"
    r"|might have|maybe|not certain|i think i|decided|undecided|whether|ddim yn siwr|ddim yn siŵr"
    r"|sai n siwr|sain siwr|dwn i ddim|not yet sure|(?:dwim|dim|ddim) yn cofio)\b"
)
# A refusal is no promise: "not yet and I'm not going to".
_REFUSAL = re.compile(
    r"\b(?:not (?:going to|gonna)(?: vote| bother| either)?$|not going to (?:vote|bother|either)"
    r"|will not (?:vote|bother)|not voting|why would i bother|done nothing|not bothering"
    r"|never vote|will never|not going to vote|refuse)\b"
)
_WH_QUESTION = re.compile(r"^(?:who|what|how|when|where|which|why|pwy|beth|sut|pryd|ble|pam)\b")
# "Did you not get it?" is about the union's post, not the member's ballot.
_ROUND_TO = re.compile(r"\b(?:got|get|gotten|getting) (?:a)?round to\b")
_ABOUT_US = re.compile(r"\b(?:did|have|has) you (?:not )?(?:got|get|received|had)\b(?: \w+){0,2}")
_ASKING_ABOUT_ME = re.compile(r"\b(?:have i|did i|am i|do i) (?:voted|posted|sent|done)\b")
# Strong signals that settle a conflict when they meet these weaker readings.
_OUTRANKS = {
    "wrong_number": {"not_member"},
    "not_member": {"will_vote"},
    "replacement": {"will_vote"},
}


@dataclass(frozen=True, slots=True)
class Suggestion:
    outcome: str  # an outcome key of the campaign, or "opt_out"
    label: str
    confidence: float
    script: str | None


def _signals(plain_words: str) -> dict[str, float]:
    """Each outcome's strongest signal in a plain text (before the campaign's examples)."""
    words = _ROUND_TO.sub("getroundto", _ABOUT_US.sub(" ", plain_words))
    cleared = _NEGATED_DONE.sub(" notdone ", words)
    found: dict[str, float] = {}
    agreeing: dict[str, int] = {}
    for rule in RULES:
        seen = cleared if rule.outcome == "voted" else words
        if rule.pattern.search(seen):
            found[rule.outcome] = max(found.get(rule.outcome, 0.0), rule.weight)
            agreeing[rule.outcome] = agreeing.get(rule.outcome, 0) + 1
    # Several rules reading the same outcome make it a little surer.
    return {k: min(0.99, v + 0.03 * (agreeing[k] - 1)) for k, v in found.items()}


@cache
def _example_tokens(example: str) -> frozenset[str]:
    return tokens(example)


def _example_signals(said: frozenset[str], spec: CampaignSpec) -> dict[str, float]:
    found: dict[str, float] = {}
    for outcome in spec.outcomes:
        for example in outcome.examples:
            known = _example_tokens(example)
            if not said or not known:
                continue
            overlap = len(said & known) / len(said | known)
            if overlap >= EXAMPLE_MATCH:
                found[outcome.key] = max(found.get(outcome.key, 0.0), min(STRONG, overlap + 0.3))
    return found


def _decide(found: dict[str, float], question: bool) -> tuple[str, float] | None:
    strong = {k: v for k, v in found.items() if v >= THRESHOLD}
    if "will_vote" in strong and strong.get("voted", 1.0) < STRONG:
        del strong["voted"]  # "in the post this week": a promise, not a vote
        found = {k: v for k, v in found.items() if k != "voted"}
    for key in list(strong):
        if all(other in _OUTRANKS.get(key, ()) for other in strong if other != key):
            strong = {key: strong[key]}
            break
    if len(strong) > 1:
        return None  # signals disagree: leave it to the activist
    if strong:
        key, score = next(iter(strong.items()))
        weaker = [k for k in found if k != key and k not in _OUTRANKS.get(key, ())]
        score -= 0.1 * len(weaker)
        if question and key in ("voted", "will_vote"):
            return None
        return (key, score) if score >= THRESHOLD else None
    weak = list(found.items())
    if len(weak) == 1 and not question:
        key, score = weak[0]
        return key, score + 0.15
    return None


def suggest(text: str, spec: CampaignSpec) -> Suggestion | None:
    """The outcome `text` most likely means in this campaign, or None when unsure."""
    text = text[:MAX_CHARS]
    words = plain(text)
    found = _signals(words)
    said = frozenset(w for w in words.split() if w != "?")
    for key, score in _example_signals(said, spec).items():
        found[key] = max(found.get(key, 0.0), score)
    if _WH_QUESTION.search(words):
        return None  # "how do I get a replacement?": the activist answers it
    if _DOUBT.search(words) or _REFUSAL.search(words):
        found = {k: v for k, v in found.items() if k not in ("voted", "will_vote")}
    sentences = [p for p in re.split(r"[.!?\n]+", text) if p.strip()]
    asked = len(sentences) == 1 and "?" in text
    question = asked or bool(_QUESTION.search(words)) or bool(_ASKING_ABOUT_ME.search(words))
    decided = _decide(found, question)
    if decided is None:
        return None
    key, confidence = decided
    if key == OPT_OUT:
        return Suggestion(OPT_OUT, "Opt out", round(confidence, 2), None)
    outcome = next((o for o in spec.outcomes if o.key == key), None)
    if outcome is None:
        return None  # the campaign does not record this outcome
    script = outcome.script if outcome.script in spec.scripts else None
    return Suggestion(outcome.key, outcome.label, round(min(confidence, 0.99), 2), script)
