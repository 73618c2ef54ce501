"""The virtual terminal pages, and what they render."""

from __future__ import annotations

from urllib.parse import quote


def test_terminal_page_renders(client, device):
    client.create(1250, device)
    page = client.http.get(f"{client.url}/terminals/{device}/", timeout=5)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert device in page.text and "Approve" in page.text and "state" in page.text
    listing = client.http.get(f"{client.url}/terminals/", timeout=5)
    assert listing.status_code == 200 and f"/terminals/{device}/" in listing.text


def test_device_names_are_escaped(client):
    device = "<script>alert(1)</script>"
    assert client.create(1250, device).json()["payOrder"]["deviceId"] == device
    page = client.http.get(f"{client.url}/terminals/{quote(device, safe='')}/", timeout=5)
    assert page.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text and device not in page.text
    listing = client.http.get(f"{client.url}/terminals/", timeout=5).text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in listing and device not in listing
    assert client.terminal_state(device)["device"] == device


def test_press_without_a_waiting_order_is_refused(client, device):
    pressed = client.http.post(f"{client.url}/terminals/{device}/press", data={"action": "approve"}, timeout=5)
    assert pressed.status_code == 409 and pressed.json()["ok"] is False
