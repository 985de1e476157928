"""Twilio's webhooks: incoming texts and status callbacks.

Each request's `X-Twilio-Signature` is checked against PUBLIC_BASE_URL (the
URL Twilio was given, which a proxy may hide from us) before anything is
parsed into the domain; a forged request gets 403 and nothing is stored.
"""

from __future__ import annotations

import logging

from aiohttp import web
from twilio.request_validator import RequestValidator

from bot.bridge import inbound
from bot.bridge.inbound import IncomingText
from bot.bridge.inbound_batch import InboundBatcher
from bot.runtime import Runtime

log = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def register(web_app: web.Application, rt: Runtime) -> None:
    token = rt.settings.twilio_auth_token
    batcher = InboundBatcher(rt)  # texts arriving together share one commit
    validator = RequestValidator(token.get_secret_value()) if token else None

    async def verified_form(request: web.Request) -> dict[str, str] | None:
        form = await request.post()
        params = {k: str(v) for k, v in form.items()}
        if validator is None:
            log.warning("Twilio webhook refused: TWILIO_AUTH_TOKEN is not set")
            return None
        url = rt.settings.public_url(request.path_qs)
        if not validator.validate(url, params, request.headers.get("X-Twilio-Signature", "")):
            log.warning("Twilio webhook refused: bad signature for %s", request.path)
            return None
        return params

    async def incoming(request: web.Request) -> web.Response:
        params = await verified_form(request)
        if params is None:
            return web.Response(status=403, text="invalid signature")
        sid = params.get("MessageSid") or params.get("SmsSid")
        sender = params.get("From")
        if not sid or not sender:
            return web.Response(status=400, text="MessageSid and From are required")
        await batcher.receive(
            IncomingText(sid, sender, params.get("Body", ""), params.get("OptOutType"))
        )
        return web.Response(text=EMPTY_TWIML, content_type="text/xml")

    async def status(request: web.Request) -> web.Response:
        params = await verified_form(request)
        if params is None:
            return web.Response(status=403, text="invalid signature")
        sid = params.get("MessageSid") or params.get("SmsSid")
        state = params.get("MessageStatus") or params.get("SmsStatus")
        if not sid or not state:
            return web.Response(status=400, text="MessageSid and MessageStatus are required")
        await inbound.record_status(
            rt,
            sid=sid,
            status=state.lower(),
            error_code=_int(params.get("ErrorCode")),
            message_id=_int(request.query.get("m")),
        )
        return web.Response(status=204)

    web_app.router.add_post("/twilio/inbound", incoming)
    web_app.router.add_post("/twilio/status", status)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None
