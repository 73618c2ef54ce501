"""Request shapes, signatures and field checks."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlencode, urlsplit

from .conftest import KEY, MCH_ID, Client, md5_sign, response_sign_ok


def test_bad_signature_is_0013(client, device):
    fields = Client.order_fields(1250, device)
    fields["sign"] = md5_sign(fields, "WRONGKEY")
    answer = client.post("create_order", fields, sign=False).json()
    assert (answer["retCode"], answer["errCode"]) == ("FAIL", "0013") and "sign" not in answer


def test_missing_sign_is_0013(client, device):
    answer = client.post("create_order", Client.order_fields(1250, device), sign=False).json()
    assert (answer["retCode"], answer["errCode"]) == ("FAIL", "0013")


def test_missing_field_is_0014_naming_it(client, device):
    fields = Client.order_fields(1250, device)
    del fields["subject"]
    answer = client.post("create_order", fields).json()
    assert (answer["retCode"], answer["errCode"]) == ("FAIL", "0014")
    assert answer["retMsg"] == "0014 parameter error: subject"


def test_malformed_fields_are_0014_naming_them(client, device):
    for name, value in (("amount", "12.50"), ("amount", "0"), ("currency", "CA"), ("channelId", "WX"),
                        ("mchOrderNo", "x" * 31), ("tip", "-1")):
        fields = {**Client.order_fields(1250, device), name: value}
        answer = client.post("create_order", fields).json()
        assert (answer["retCode"], answer["errCode"]) == ("FAIL", "0014"), (name, value)
        assert answer["retMsg"] == f"0014 parameter error: {name}"
    fields = Client.order_fields(1250, device)
    del fields["device"]
    assert client.post("create_order", fields).json()["retMsg"] == "0014 parameter error: device"


def test_unknown_merchant_is_0015(client, device):
    fields = Client.order_fields(1250, device, mchId="99999999")
    answer = client.post("create_order", fields).json()
    assert (answer["retCode"], answer["errCode"]) == ("FAIL", "0015")


def test_plain_form_fields_are_accepted(client, device):
    fields = Client.order_fields(1250, device)
    fields["sign"] = md5_sign(fields, KEY)
    answer = client.http.post(f"{client.url}/v1/create_order", data=fields, timeout=5).json()
    assert answer["retCode"] == answer["resCode"] == "SUCCESS" and response_sign_ok(answer)


def test_other_request_shapes_are_refused(client, device):
    fields = Client.order_fields(1250, device)
    fields["sign"] = md5_sign(fields, KEY)
    as_json = client.http.post(f"{client.url}/v1/create_order", json=fields, timeout=5).json()
    assert as_json["retCode"] == "FAIL" and as_json["errCode"] in ("0011", "0012")
    as_get = client.http.get(f"{client.url}/v1/create_order", params=fields, timeout=5).json()
    assert (as_get["retCode"], as_get["errCode"]) == ("FAIL", "0011")
    empty = client.http.post(f"{client.url}/v1/query_order", data=b"", timeout=5).json()
    assert (empty["retCode"], empty["errCode"]) == ("FAIL", "0012")
    not_object = client.http.post(f"{client.url}/v1/query_order", data={"params": "[1]"}, timeout=5).json()
    assert (not_object["retCode"], not_object["errCode"]) == ("FAIL", "0014")
    unread = client.inspect(fields["mchOrderNo"])  # unreadable requests name no order and make none
    assert unread.status_code == 404 and unread.json()["create_calls"] == 0


def test_keep_alive_reuses_one_connection(client, device):
    fields = {"mchId": MCH_ID, "mchOrderNo": "nothing"}
    body = urlencode({"params": json.dumps({**fields, "sign": md5_sign(fields, KEY)})})
    conn = http.client.HTTPConnection("127.0.0.1", urlsplit(client.url).port, timeout=5)
    try:
        sockets = set()
        for _ in range(3):
            conn.request("POST", "/v1/query_order", body, {"Content-Type": "application/x-www-form-urlencoded"})
            response = conn.getresponse()
            assert int(response.headers["Content-Length"]) == len(response.read())
            assert not response.will_close
            sockets.add(id(conn.sock))
        assert len(sockets) == 1
    finally:
        conn.close()


def test_introspection_lists_orders_and_counts_requests(client, device):
    order_no = f"I-{device}"
    client.create(1250, device, order_no)
    client.query(mchOrderNo=order_no)
    listing = client.http.get(f"{client.url}/_sandbox/orders", params={"mchId": MCH_ID}, timeout=5).json()
    mine = [row for row in listing if row["mchOrderNo"] == order_no]
    assert len(mine) == 1
    assert {"mchOrderNo", "payOrderId", "status", "amount", "create_calls", "query_calls", "refunds",
            "refundable"} <= set(mine[0])
    assert (mine[0]["create_calls"], mine[0]["query_calls"], mine[0]["refundable"]) == (1, 1, 1250)
    stats = client.http.get(f"{client.url}/_sandbox/stats", timeout=5).json()
    assert stats["create_order"] >= 1 and stats["query_order"] >= 1 and "refund_order" in stats
    assert json.loads(client.http.get(f"{client.url}/_sandbox/health", timeout=5).text) == {"ok": True}
