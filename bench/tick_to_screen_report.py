"""bench.tick_to_screen's results: the figures file's content, and the printed table."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bench.report import table_print
from bench.tick_to_screen_data import symbol_names
from bench.tick_to_screen_figures import (
    PER_TICK_KEPT,
    browser_figures,
    layer_figures,
    saves_figures,
    sockets_figures,
    ticks_build,
)

if TYPE_CHECKING:
    from bench.tick_to_screen import Measured, Options

MEASURED_FROM = (
    "Asset.last_updated (stamped by quotes_save before it locks and writes the rows; read back "
    "from a trigger's log in the bench database) to the frame's arrival on a socket, or to the "
    "price cell's DOM change; matched by (symbol, quote_time); one machine, one clock"
)


def figures_build(
    options: Options, measured: Measured, layer: Mapping[str, int], *, load_before: float
) -> dict[str, Any]:
    connected = measured.connected
    ticks = ticks_build(measured.saves, connected["watchers"], measured.latency)
    sockets = sockets_figures(ticks, measured.latency)
    watched = symbol_names(options.symbols)[: options.browser_symbols]
    browser = browser_figures(measured.saves, measured.browser, watched)
    close_codes: dict[str, int] = {}
    for stats in measured.stats:
        for code, count in stats["close_codes"].items():
            close_codes[code] = close_codes.get(code, 0) + count
    figures = {
        "measured_from": MEASURED_FROM,
        "symbols": options.symbols,
        "batch_size": options.batch_size,
        "interval_seconds": 1,
        "sockets": {
            "asked": options.sockets,
            "ready": connected["ready"],
            "failed": connected["failed"],
            "per_socket": options.per_socket,
            "client_processes": options.client_processes,
            "connect_seconds": connected["seconds"],
            "closed_during_run": sum(stats["closed"] for stats in measured.stats),
            "close_codes": close_codes,
        },
        "ticks_asked": options.ticks,
        "window_seconds": round(measured.window_seconds, 1),
        "feed": saves_figures(measured.saves),
        "frames": {
            key: sockets[key]
            for key in ("expected", "received", "delivered_share", "unmatched", "before_save")
        }
        | {"repeated": sum(stats["repeated"] for stats in measured.stats)},
        "latency_ms": sockets["latency_ms"],
        "per_tick_p99_ms": sockets["per_tick_p99_ms"],
        "save_to_layer_ms": layer_figures(measured.saves, layer),
        "per_tick": [tick.row() for tick in ticks] if len(ticks) <= PER_TICK_KEPT else None,
        "browser": browser | {"page_errors": measured.browser_errors[:5]},
        "cpu_cores": measured.cpu | {"of": os.cpu_count()},
        "load_average_1m_at_start": round(load_before, 2),
    }
    figures["problems"] = problems_find(figures, reached=measured.reached)
    return figures


def problems_find(figures: dict[str, Any], *, reached: bool) -> list[str]:
    """What makes the run wrong, not slow: a socket or a frame or a page update missing."""
    problems = []
    sockets, frames, browser = figures["sockets"], figures["frames"], figures["browser"]
    if sockets["failed"] or sockets["closed_during_run"]:
        problems.append(
            f"{sockets['failed']} sockets failed to connect, {sockets['closed_during_run']} closed"
        )
    if not reached:
        problems.append(f"fewer than {figures['ticks_asked']} ticks were saved in time")
    if frames["received"] < frames["expected"]:
        problems.append(f"{frames['expected'] - frames['received']:,} frames did not arrive")
    if frames["unmatched"] or frames["before_save"]:
        problems.append(
            f"{frames['unmatched']} frames matched no save, {frames['before_save']} came before it"
        )
    if browser["cells_changed"] < browser["expected"] or browser["page_errors"]:
        problems.append(
            f"the page showed {browser['cells_changed']} of {browser['expected']} quotes"
            f"{'; page errors: ' + str(browser['page_errors']) if browser['page_errors'] else ''}"
        )
    if browser["price_agrees"] < browser["cells_changed"]:
        problems.append(
            f"{browser['cells_changed'] - browser['price_agrees']} cells showed another price"
        )
    return problems


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def figures_print(options: Options, figures: dict[str, Any]) -> None:
    sockets, frames, feed = figures["sockets"], figures["frames"], figures["feed"]
    if figures["per_tick"]:
        table_print(
            ["tick (quote time)", "saved", "frames expected", "received", "p50 ms", "p99 ms",
             "max ms"],
            [
                [row["quote_time"][11:19], str(row["symbols"]), f"{row['expected']:,}",
                 f"{row['received']:,}", _ms(row["p50_ms"]), _ms(row["p99_ms"]),
                 _ms(row["max_ms"])]
                for row in figures["per_tick"]
            ],
        )  # fmt: skip
    latency, share = figures["latency_ms"], frames["delivered_share"]
    delivered = f" ({share:.2%})" if share is not None else ""
    print(
        f"\nsave -> socket, {sockets['ready']:,} sockets x {sockets['per_socket']} of "
        f"{figures['symbols']} symbols ({sockets['client_processes']} client processes), "
        f"{feed.get('ticks', 0)} ticks in {figures['window_seconds']} s:\n"
        f"  p50 {_ms(latency['p50'])} ms, p90 {_ms(latency['p90'])} ms, p99 "
        f"{_ms(latency['p99'])} ms, max {_ms(latency['max'])} ms; per tick p99: median "
        f"{_ms(figures['per_tick_p99_ms']['median'])}, worst "
        f"{_ms(figures['per_tick_p99_ms']['worst'])} ms\n"
        f"  frames: {frames['received']:,} received of {frames['expected']:,} expected{delivered}"
    )
    print(
        f"  repeated {frames['repeated']}, matching no save {frames['unmatched']}; "
        f"save stamp -> row written p50 {_ms(feed.get('stamp_to_row_written_ms', {}).get('p50'))}"
        f" ms; source quote time -> save stamp p50 {_ms(feed.get('quote_time_to_stamp_ms_p50'))}"
        " ms (not counted above)"
    )
    layer = figures["save_to_layer_ms"]
    print(
        f"  of which save -> channel layer (what the server's hub gets; {layer['received']} of "
        f"{layer['expected']} seen): p50 {_ms(layer['p50'])} / p99 {_ms(layer['p99'])} ms"
    )
    browser = figures["browser"]
    print(
        f"save -> browser ({', '.join(browser['symbols'])}): {browser['cells_changed']} of "
        f"{browser['expected']} quotes shown ({browser['price_agrees']} at the saved price)\n"
        f"  socket message p50 {_ms(browser['socket_ms']['p50'])} / p99 "
        f"{_ms(browser['socket_ms']['p99'])} ms; DOM change p50 {_ms(browser['dom_ms']['p50'])}"
        f" / p99 {_ms(browser['dom_ms']['p99'])} ms; next animation frame p50 "
        f"{_ms(browser['next_frame_ms']['p50'])} / p99 {_ms(browser['next_frame_ms']['p99'])} ms"
    )
    cpu = figures["cpu_cores"]
    print(
        f"CPU during the ticks: machine {cpu['machine']} of {cpu['of']} cores busy (everyone's), "
        f"uvicorn {cpu['web']}, socket clients {cpu['clients']}; load average at start "
        f"{figures['load_average_1m_at_start']}: on a busy machine every figure is inflated"
    )
    print(f"measured from: {figures['measured_from']}")
    for problem in figures["problems"]:
        print("PROBLEM:", problem)
