"""`GET /metrics`: what an operator's Prometheus reads on ballot night."""

from __future__ import annotations

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from bot.fakes.world import World
from tests.helpers import ALICE, owned_conversation


async def scrape(world: World) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with aiohttp.ClientSession() as http:
        async with http.get(world.service.url + "/metrics") as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain")
            text = await response.text()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_queues_deliveries_and_latency_are_reported(world: World) -> None:
    await owned_conversation(world, "+447400100001")
    status, _ = await world.member_texts("+447400100001", "Hello, who is this?")
    assert status == 200

    before = await scrape(world)
    assert before[("turnout_outbox_depth", (("kind", "inbound"), ("outbox", "slack")))] == 1
    assert (
        before[("turnout_outbox_oldest_age_seconds", (("kind", "inbound"), ("outbox", "slack")))]
        >= 0
    )
    inbound = (("method", "POST"), ("route", "/twilio/inbound"))
    assert before[("turnout_webhook_seconds_count", inbound)] == 1
    assert before[("turnout_webhook_seconds_bucket", (("le", "10.0"), *inbound))] == 1

    await world.drain()
    after = await scrape(world)
    assert ("turnout_outbox_depth", (("kind", "inbound"), ("outbox", "slack"))) not in after
    done = (("kind", "inbound"), ("outbox", "slack"), ("result", "done"))
    assert after[("turnout_deliveries_total", done)] == 1
    assert after[("turnout_replies_waiting", ())] == 1


async def test_texts_sent_and_failures_by_reason(world: World) -> None:
    await owned_conversation(world, "+447400100002")
    status, _ = await world.member_texts("+447400100002", "Hi")
    assert status == 200
    await world.drain()
    [thread_parent] = [m for m in world.slack.messages(world.slack.dm_channel(ALICE))]
    await world.activist_writes(ALICE, world.slack.dm_channel(ALICE), thread_parent["ts"], "Hi!")
    world.twilio.fail_next(21211)
    await world.drain()
    figures = await scrape(world)
    failed = (("kind", "reply"), ("outbox", "sms"), ("result", "failed"))
    assert figures[("turnout_deliveries_total", failed)] == 1
    assert (
        figures[("turnout_delivery_failures_total", (("outbox", "sms"), ("reason", "error_21211")))]
        == 1
    )
    assert ("turnout_texts_sent_total", (("gateway", "twilio"),)) not in figures

    await world.activist_writes(ALICE, world.slack.dm_channel(ALICE), thread_parent["ts"], "Again")
    await world.drain()
    figures = await scrape(world)
    assert figures[("turnout_texts_sent_total", (("gateway", "twilio"),))] == 1
    assert figures[("turnout_replies_waiting", ())] == 0
