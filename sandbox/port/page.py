"""The Port stand-in's page for people (``GET /_sandbox/``), made for ``make demo LIVE=1``: it refreshes
every few seconds while runs are triggered and webhooks update Port.

Top to bottom: counts per blueprint (entities, relations filled / dangling, rejected, changed live) and
the requests the stand-in did not know; "Recently changed", the newest entities changed live (see the
rule in ``server.py``), marked; then one table per blueprint, 100 rows a page (``?blueprint=X&page=2``),
its entities changed live first and marked. Dependency-free: inline CSS, everything HTML-escaped.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

if TYPE_CHECKING:
    from sandbox.port.server import SandboxPort

PAGE_SIZE = 100
RECENT = 20
REFRESH_SECONDS = 5
VIA = {"http_request": "webhook", "action_run": "action", "resync": "later resync", "api": "API"}
STYLE = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:1.2em 2em;color:#1d2330;background:#fff}
h1{font-size:1.45em;margin:.2em 0}h2{font-size:1.15em;margin:1.4em 0 .3em}
.meta{color:#5c6370;margin:.2em 0 1em}
table{border-collapse:collapse;margin:.3em 0 .6em;min-width:40em}
th,td{border-bottom:1px solid #e3e6ea;padding:3px 10px;text-align:left;vertical-align:top}
th{background:#f3f5f7;font-weight:600}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
tr.total td{font-weight:600;border-top:2px solid #c9ced6}
tr.live td{background:#fff3c4}
.badge{display:inline-block;background:#d9480f;color:#fff;border-radius:3px;padding:0 6px;font-size:11px;font-weight:700;margin-right:4px}
.bad{color:#b3261e;font-weight:600}.ok{color:#2b8a3e}
.rel{color:#5c6370;font-size:12px}
.pager a,.pager span{margin-right:.7em}
code{font-size:12px}
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _link(blueprint: str, page: int, text: str) -> str:
    query = urlencode({"blueprint": blueprint, "page": page})
    return f'<a href="?{_e(query)}#bp-{_e(blueprint)}">{_e(text)}</a>'


def _relations(entity: dict[str, Any]) -> str:
    parts = []
    for name, value in sorted((entity.get("relations") or {}).items()):
        if value in (None, []):
            continue
        shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        parts.append(f"{_e(name)} → {_e(shown)}")
    return f'<span class="rel">{"<br>".join(parts)}</span>'


def _state(entity: dict[str, Any]) -> str:
    properties = entity.get("properties") or {}
    return _e(properties.get("state", properties.get("status", "")))


def _row(entity: dict[str, Any], change: dict[str, str] | None, with_blueprint: bool = False) -> str:
    badge = f'<span class="badge">LIVE · {_e(VIA.get(change["via"], change["via"]))}</span>' if change else ""
    cells = [f"{badge}<code>{_e(entity['identifier'])}</code>"]
    if with_blueprint:
        cells.insert(0, _e(entity["blueprint"]))
    cells += [_e(entity.get("title")), _state(entity), _e(entity.get("updatedAt")), _relations(entity)]
    return f'<tr{" class=live" if change else ""}>' + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def _counts(port: SandboxPort) -> list[str]:
    counts = port.blueprint_counts()
    head = ["blueprint", "entities", "placeholders", "relations filled", "relations dangling", "rejected", "changed live"]  # fmt: skip
    keys = ["entities", "placeholders", "relations_filled", "relations_dangling", "rejected", "changed_live"]
    out = [
        "<table><tr>"
        + "".join(f'<th{" class=n" if i else ""}>{h}</th>' for i, h in enumerate(head))
        + "</tr>"
    ]
    for blueprint, row in counts.items():
        cells = "".join(
            f'<td class="n{" bad" if k in ("relations_dangling", "rejected") and row[k] else ""}">{row[k]}</td>'
            for k in keys
        )
        out.append(f"<tr><td>{_link(blueprint, 1, blueprint)}</td>{cells}</tr>")
    totals = "".join(f'<td class="n">{sum(r[k] for r in counts.values())}</td>' for k in keys)
    out.append(f'<tr class="total"><td>all</td>{totals}</tr></table>')
    unknown = port.unknown_requests
    if unknown:
        out.append(f'<p class="bad">Unknown requests: {len(unknown)} (the stand-in did not serve them; '
                   "Port would answer something the integration may rely on)</p><ul>")  # fmt: skip
        out += [f"<li><code>{_e(line)}</code> × {n}</li>" for line, n in _tally(unknown)]
        out.append("</ul>")
    else:
        out.append('<p class="ok">Unknown requests: 0</p>')
    if port.rejected:
        out.append(f'<p class="bad">Rejected entities: {len(port.rejected)} (Port would refuse them)</p><ul>')
        out += [
            f"<li>{_e(r['blueprint'])} <code>{_e(r['identifier'])}</code>: {_e('; '.join(r['errors']))}</li>"
            for r in port.rejected[-10:]
        ]
        out.append("</ul>")
    return out


def _tally(lines: list[str]) -> list[tuple[str, int]]:
    seen: dict[str, int] = {}
    for line in lines:
        seen[line] = seen.get(line, 0) + 1
    return list(seen.items())[-20:]


def _recent(port: SandboxPort) -> list[str]:
    keys = port.recently_changed(RECENT)
    live_total = len(port.recently_changed(len(port.live_changes)))
    if not keys:
        return ["<h2>Recently changed</h2>",
                '<p class="meta">Nothing changed live yet: trigger a run or send a webhook.</p>']  # fmt: skip
    shown = f"the newest {len(keys)} of {live_total}" if live_total > len(keys) else f"{live_total}"
    out = [f"<h2>Recently changed ({shown} changed live, newest first)</h2>"]
    out.append("<table><tr><th>blueprint</th><th>identifier</th><th>title</th><th>state</th><th>updated at</th>"
               "<th>relations</th></tr>")  # fmt: skip
    out += [_row(port.entities[key], port.live_changes[key], with_blueprint=True) for key in keys]
    out.append("</table>")
    return out


def _blueprint_table(
    port: SandboxPort, blueprint: str, entities: list[dict[str, Any]], page: int
) -> list[str]:
    live = set(port.recently_changed(len(port.live_changes)))
    changed = sorted((e for e in entities if (blueprint, e["identifier"]) in live),
                     key=lambda e: port.live_changes[(blueprint, e["identifier"])]["at"], reverse=True)  # fmt: skip
    rest = sorted((e for e in entities if (blueprint, e["identifier"]) not in live), key=lambda e: str(e["identifier"]))  # fmt: skip
    ordered = changed + rest
    pages = max(1, -(-len(ordered) // PAGE_SIZE))
    page = min(max(1, page), pages)
    shown = ordered[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    pager = [f"showing {len(shown)} of {len(ordered)}"]
    if pages > 1:
        first = (page - 1) * PAGE_SIZE + 1
        pager.append(f"rows {first}–{first + len(shown) - 1}, page {page} of {pages}")
        if page > 1:
            pager.append(_link(blueprint, page - 1, "← previous"))
        if page < pages:
            pager.append(_link(blueprint, page + 1, "next →"))
    live_note = f', <span class="badge">{len(changed)} changed live</span> first' if changed else ""
    out = [f'<h2 id="bp-{_e(blueprint)}">{_e(blueprint)}{live_note}</h2>',
           f'<p class="pager">{" · ".join(pager)}</p>']  # fmt: skip
    if shown:
        out.append("<table><tr><th>identifier</th><th>title</th><th>state</th><th>updated at</th><th>relations</th></tr>")  # fmt: skip
        out += [_row(e, port.live_changes[(blueprint, e["identifier"])] if (blueprint, e["identifier"]) in live else None) for e in shown]  # fmt: skip
        out.append("</table>")
    return out


def render(port: SandboxPort, blueprint: str | None = None, page: int = 1) -> str:
    """The page; ``blueprint`` and ``page`` choose which page of that blueprint's table is shown."""
    landed = {bp: [e for e in es if not e.get("stub")] for bp, es in sorted(port.landed().items())}
    total = sum(len(es) for es in landed.values())
    now = datetime.now(UTC).strftime("%H:%M:%S UTC")
    body = [
        "<!doctype html><html lang=en><meta charset=utf-8>",
        '<link rel=icon href="data:,">',  # no favicon request for the stand-in to count as unknown
        f"<meta http-equiv=refresh content={REFRESH_SECONDS}><title>Port stand-in · {total} entities</title>",
        f"<style>{STYLE}</style>",
        "<h1>What landed in Port <span class=meta>(local stand-in)</span></h1>",
        f'<p class="meta">{total} entities in {len(landed)} blueprints · updated {now} · refreshes every '
        f"{REFRESH_SECONDS} s · <b>LIVE</b> = changed by a webhook, an action or a later resync "
        f'(after the first resync) · <a href="?">top</a></p>',
        "<h2>Counts</h2>",
        *_counts(port),
        *_recent(port),
    ]
    for bp, entities in landed.items():
        body += _blueprint_table(port, bp, entities, page if bp == blueprint else 1)
    body.append("</html>")
    return "\n".join(body)
