"""The same placement posted five times, three of them at once, over real HTTP to the running service: one
BigCommerce order, five identical answers (issue 7)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from bigcommerce_app.models import OrderPlacement
from tests.bigcommerce_app.placement.conftest import authorization

pytestmark = pytest.mark.django_db(transaction=True)


def test_five_posts_three_concurrent_make_one_order_and_identical_answers(live_server, shop):
    url = f"{live_server.url}/ordergroove/order-placement"
    body = shop.xml()

    def post() -> bytes:
        response = requests.post(url, data=body, timeout=60,
                                 headers={"Content-Type": "application/xml", "Authorization": authorization()})
        assert response.status_code == 200
        return response.content

    with ThreadPoolExecutor(max_workers=3) as pool:
        answers = list(pool.map(lambda _: post(), range(3)))
    answers += [post(), post()]

    assert len(set(answers)) == 1 and b"<code>SUCCESS</code>" in answers[0]
    assert len(shop.bc.orders) == 1
    assert len(shop.fake_bc.requests_to("POST", r"/v2/orders$")) == 1
    assert len(shop.bc.payments) == 1
    assert OrderPlacement.objects.count() == 1
