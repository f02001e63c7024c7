"""Texts the crew reads: one GSM-7 SMS (<= 160 septets) and an HTML + text email.

SMS: severity, ride/train, wheel ids with side+position, score, defect (or NO FILE), time,
the alert code to acknowledge and a short dashboard link. Email: the same plus a table,
the heatmap of each bad wheel (inline ``cid:`` images) and links.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote

from cloud.alerts.gsm7 import SMS_SEPTETS, septets, to_gsm7
from cloud.alerts.model import Image, Rendered
from cloud.alerts.severity import Severity


@dataclass(frozen=True)
class Line:
    """One row of an alert: a bad wheel, a missing file, or a wheel good again."""

    kind: str  # wheel | missing | wheel_ok
    wheel_id: str
    camera: str
    side: str = ""
    position: int | None = None
    score: float | None = None
    defect: str = ""
    severity: Severity = Severity.WATCH
    location: dict[str, float] = field(default_factory=dict)
    note: str = ""
    image_cid: str | None = None
    file_id: str = ""

    def short(self) -> str:
        """The SMS form, e.g. ``W12 L3 28 crack`` or ``W07 R5 NO FILE``."""
        where = f"{self.side[:1].upper()}{self.position}" if self.position else self.camera
        if self.kind == "missing":
            return f"{self.wheel_id} {where} NO FILE"
        if self.kind == "wheel_ok":
            return f"{self.wheel_id} {where} ok {self.score:.0f}" if self.score is not None \
                else f"{self.wheel_id} {where} ok"
        defect = "" if self.defect in ("", "none") else f" {self.defect}"
        return f"{self.wheel_id} {where} {self.score:.0f}{defect}"


@dataclass(frozen=True)
class Header:
    """What the alert is about (fills subject, SMS head and email title)."""

    alert_id: str
    severity: Severity
    ride: str
    train_id: str | None
    run_id: str | None
    at: datetime
    headline: str  # e.g. "2 bad wheels, 1 missing file" or "camera Cam_01 silent"
    prefix: str = ""  # e.g. "ESCALATED" or "RESOLVED"


def _fit_sms(head: str, parts: Sequence[str], tail: str) -> str:
    """Join ``head + parts + tail`` within 160 septets, ending with ``+N more`` if cut."""
    head, tail = to_gsm7(head), to_gsm7(tail)
    parts = [to_gsm7(p) for p in parts]
    for keep in range(len(parts), 0, -1):
        more = f" +{len(parts) - keep} more" if keep < len(parts) else ""
        text = f"{head} {'; '.join(parts[:keep])}{more}{tail}"
        if septets(text) <= SMS_SEPTETS:
            return text
    if not parts:
        return f"{head}{tail}"[:SMS_SEPTETS]
    # Not even the first part fits whole: shorten it rather than hide it behind "+N more".
    more = f" +{len(parts) - 1} more" if len(parts) > 1 else ""
    first = parts[0]
    while first and septets(f"{head} {first}...{more}{tail}") > SMS_SEPTETS:
        first = first[:-1]
    return f"{head} {first}...{more}{tail}" if first else f"{head}{more}{tail}"[:SMS_SEPTETS]


def sms_text(h: Header, lines: Sequence[Line], dashboard_url: str) -> str:
    """The single-part GSM-7 SMS for an alert."""
    pre = f"{h.prefix} " if h.prefix else ""
    what = h.severity.label if not h.prefix or h.prefix == "ESCALATED" else ""
    train = f" {h.train_id}" if h.train_id else ""
    head = f"{pre}{what} {h.ride[:20]}{train}:".replace("  ", " ").strip()
    parts = [ln.short() for ln in lines] or [h.headline]
    link = f"{dashboard_url.rstrip('/')}/alerts/{h.alert_id}"
    ack = "" if h.prefix in ("RESOLVED", "UNDELIVERED") else f" ack {h.alert_id}"
    when = "" if h.prefix == "RESOLVED" else f" {h.at:%H:%M}Z"
    tail = f"{when}{ack} {link}"
    if septets(to_gsm7(head + tail)) > SMS_SEPTETS - 20:
        tail = f"{when}{ack or ' ' + h.alert_id}"
    return _fit_sms(head, parts, tail)


def subject(h: Header) -> str:
    """Email subject line."""
    pre = f"{h.prefix} " if h.prefix else ""
    train = f" train {h.train_id}" if h.train_id else ""
    run = f" run {h.run_id}" if h.run_id else ""
    return f"[WheelWatch {pre}{h.severity.label}] {h.ride}{train}{run}: {h.headline}"


def _where(ln: Line) -> str:
    side = f"{ln.side} " if ln.side else ""
    pos = f"#{ln.position}" if ln.position else ""
    return f"{ln.camera} {side}{pos}".strip()


def _loc(ln: Line) -> str:
    loc = ln.location
    if "along_mm" in loc and "across_mm" in loc:
        return f"{loc['along_mm']:.0f} mm along, {loc['across_mm']:.0f} mm across"
    return ""


def _status(ln: Line) -> str:
    return {"missing": "FILE MISSING", "wheel_ok": "OK again"}.get(ln.kind, ln.severity.label)


def _row(ln: Line) -> list[str]:
    score = "" if ln.score is None else f"{ln.score:.1f}"
    return [ln.wheel_id, _where(ln), score, ln.defect or "", _status(ln), _loc(ln) or ln.note]


_COLS = ["Wheel", "Camera / side / pos", "Score", "Defect", "Status", "Location / note"]


def text_body(h: Header, lines: Sequence[Line], links: dict[str, str]) -> str:
    """Plain-text email body with an aligned table."""
    rows = [_COLS, *[_row(ln) for ln in lines]]
    widths = [max(len(r[i]) for r in rows) for i in range(len(_COLS))]
    table = "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )
    out = [subject(h), "", f"Action: {h.severity.action}", f"Time: {h.at:%Y-%m-%d %H:%M} UTC", ""]
    if lines:
        out += [table, ""]
    out += [f"{name}: {url}" for name, url in links.items()]
    out += ["", f"Acknowledge: on the dashboard or `wheel-cloud ack {h.alert_id}`."]
    return "\n".join(out) + "\n"


def html_body(h: Header, lines: Sequence[Line], links: dict[str, str]) -> str:
    """HTML email body: table, inline heatmaps, links."""
    e = html.escape
    head = "".join(f"<th>{e(c)}</th>" for c in _COLS)
    body = "".join(
        "<tr>" + "".join(f"<td>{e(c)}</td>" for c in _row(ln)) + "</tr>" for ln in lines
    )
    imgs = "".join(
        f'<figure><img src="cid:{e(ln.image_cid)}" alt="heatmap {e(ln.wheel_id)}" width="480">'
        f"<figcaption>{e(ln.wheel_id)} ({e(_where(ln))}) score {ln.score or 0:.1f}</figcaption>"
        "</figure>"
        for ln in lines if ln.image_cid
    )
    link_html = "".join(f'<li><a href="{e(u)}">{e(n)}</a></li>' for n, u in links.items())
    table = f'<table border="1" cellpadding="4"><tr>{head}</tr>{body}</table>' if lines else ""
    return (
        f"<html><body><h2>{e(subject(h))}</h2>"
        f"<p><b>Action:</b> {e(h.severity.action)}<br>Time: {h.at:%Y-%m-%d %H:%M} UTC</p>"
        f"{table}{imgs}<ul>{link_html}</ul>"
        f"<p>Acknowledge on the dashboard or with <code>wheel-cloud ack {e(h.alert_id)}</code>."
        "</p></body></html>"
    )


def links_for(h: Header, lines: Sequence[Line], dashboard_url: str) -> dict[str, str]:
    """Dashboard links: the alert, each wheel and its scan heatmap, the data-health page."""
    base = dashboard_url.rstrip("/")
    out = {"Alert": f"{base}/alerts/{quote(h.alert_id)}"}
    for ln in lines:
        if ln.kind != "missing":
            out[f"Wheel {ln.wheel_id}"] = f"{base}/wheels/{quote(ln.wheel_id)}"
        if ln.kind == "wheel" and ln.file_id:
            out[f"Heatmap {ln.wheel_id}"] = f"{base}/scans/{quote(ln.file_id)}/heatmap.png"
    if any(ln.kind == "missing" for ln in lines) or not lines:
        out["Data health"] = f"{base}/data-health"
    return out


def render(
    h: Header, lines: Sequence[Line], dashboard_url: str, images: Sequence[Image] = ()
) -> Rendered:
    """Every rendering of one alert."""
    links = links_for(h, lines, dashboard_url)
    return Rendered(
        alert_id=h.alert_id,
        sms=sms_text(h, lines, dashboard_url),
        subject=subject(h),
        text=text_body(h, lines, links),
        html=html_body(h, lines, links),
        images=tuple(images),
    )
