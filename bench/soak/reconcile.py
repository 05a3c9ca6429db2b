"""What BigCommerce sent against what Ordergroove, the payments API and the SFTP drop-off received; the table and
the goals (issue 14: 0 lost, 0 duplicated, 0 charges twice, 0 partial files visible, no 5xx to good input
except the documented 503 "retry" answers while an injected fault lasts)."""

from __future__ import annotations

import threading
import time
import xml.etree.ElementTree as ET  # noqa: S405 - parses the feed files the service itself wrote
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.soak.faults import FaultRecord
from bench.soak.load import Load, Recorder
from bench.soak.vendors import Vendors

FAULT_GRACE = 15.0  # s after a fault ends during which a 503 "retry" answer still belongs to it
FINAL_SUFFIXES = (".Products.xml", ".Categories.xml")


class Watch:
    """Polls the vendors while the soak runs: when purchase posts and feed files arrive (recovery times), and
    whether a file under its final name in /incoming is ever incomplete."""

    def __init__(self, vendors: Vendors, recorder: Recorder):
        self.vendors = vendors
        self.rec = recorder
        self.partial_seen: set[str] = set()
        self.final_writes: list[str] = []  # files opened for writing under a final name (not atomic)
        self._seen_posts = 0
        self._seen_events = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="soak-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.check_files()

    def _loop(self) -> None:
        while not self._stop.wait(0.25):
            times = self.vendors.og.post_times
            for at in times[self._seen_posts:len(times)]:
                self.rec.success("og_post", at)
            self._seen_posts = len(times)
            events = self.vendors.sftp.events
            for event in events[self._seen_events:len(events)]:
                final = event.path.endswith(FINAL_SUFFIXES)
                if event.kind in ("rename", "posix_rename") and final:
                    self.rec.success("feed", event.at)
                    self.rec.success(f"feed:{event.path}", event.at)
                elif event.kind == "open" and final and event.detail != "rb":
                    self.final_writes.append(event.path)
            self._seen_events = len(events)
            self.check_files()

    def check_files(self) -> None:
        for name in self.vendors.sftp.files("/incoming"):
            if not name.endswith(FINAL_SUFFIXES):
                continue
            try:
                ET.fromstring(self.vendors.sftp.read(f"/incoming/{name}"))  # noqa: S314
            except (ET.ParseError, OSError):
                self.partial_seen.add(name)


@dataclass
class Result:
    rows: list[tuple[str, str]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def row(self, label: str, value, goal: str = "", ok: bool = True) -> None:
        verdict = "" if ok else ", NOT MET"
        self.rows.append((label, f"{value}  (goal {goal}{verdict})" if goal else str(value)))
        if not ok:
            self.failures.append(f"{label}: {value}")


def drained(load: Load, vendors: Vendors) -> dict[str, int]:
    """What is still outstanding (all zero: drained)."""
    og = vendors.og
    by_hash = {s.store_hash: s for s in vendors.stores}
    posted = {key for key, answers in dict(og.post_answers).items() if 201 in answers}
    missing_posts = sum(1 for (store, order_id), body in list(load.orders.items())
                        if (by_hash[store].merchant_id, str(order_id)) not in posted)
    return {"webhooks not accepted": load.pending_webhooks(), "orders not posted": missing_posts,
            "placements unanswered": sum(1 for p in list(load.placements.values()) if not p.done),
            "events not accepted": sum(1 for e in list(load.og_events.values()) if not e["accepted"]),
            "customers not in step": len(customers_out_of_step(load, vendors))}


def customers_out_of_step(load: Load, vendors: Vendors) -> list[str]:
    """Customers whose email or default card at Ordergroove differs from BigCommerce's (last change lost)."""
    out = []
    for store in vendors.stores:
        merchant = vendors.og.merchants[store.merchant_id]
        for store_hash, customer_id in sorted(load.touched_customers):
            if store_hash != store.store_hash:
                continue
            bc_email = vendors.bc.stores[store_hash].customers[customer_id]["email"]
            og_email = merchant.customers.get(str(customer_id), {}).get("email")
            card = store.cards[customer_id]
            og_card = merchant.payments.get(str(customer_id))
            changed_card = card is not store.initial_cards.get(customer_id)
            if og_email != bc_email or (changed_card and (og_card or {}).get("cc_last_4") != card["last_4"]):
                out.append(f"{store_hash}/{customer_id} (BigCommerce {bc_email} card {card['last_4']}, "
                           f"Ordergroove {og_email} card {(og_card or {}).get('cc_last_4')})")
    return out


def reconcile(load: Load, vendors: Vendors, watch: Watch, faults: list[FaultRecord], rec: Recorder,
              restarts: dict[str, int], feed_runs: list[dict], og_events: tuple[int, int],
              unplanned: dict[str, int] | None = None) -> Result:
    """`og_events`: (stored, processed) rows of the Ordergroove events the soak sent."""
    result = Result()
    _faults(result, faults, rec)
    _webhooks(result, load, vendors)
    _placements(result, load, vendors, og_events)
    _feeds(result, vendors, watch, feed_runs)
    _answers(result, rec, faults)
    result.row("restarts by the supervisor", ", ".join(f"{k} {v}" for k, v in restarts.items() if v) or "none")
    died = {name: n for name, n in (unplanned or {}).items() if n}
    result.row("processes that died with no fault aimed at them", ", ".join(f"{k} {v}" for k, v in died.items())
               or 0, "0", ok=not died)
    return result


def _faults(result: Result, faults: list[FaultRecord], rec: Recorder) -> None:
    for fault in faults:
        if fault.injected:
            times = [rec.first_success_after(s, fault.end) for s in fault.streams]
            fault.recovered_at = None if None in times else max(times)
    injected = [f for f in faults if f.injected]
    result.row("faults injected", len(injected), "every scheduled one", ok=len(injected) == len(faults))
    for kind in dict.fromkeys(f.kind for f in faults):
        of_kind = [f for f in faults if f.kind == kind]
        done = [f.recovery for f in of_kind if f.injected and f.recovery is not None]
        longest = f", longest recovery {max(done):.1f} s" if done else ""
        result.row(f"  {kind}", f"{sum(1 for f in of_kind if f.injected)}{longest}")
    unrecovered = [f.kind for f in injected if f.recovery is None]
    worst = max(((f.recovery, f.kind) for f in injected if f.recovery is not None), default=(0.0, "-"))
    result.row("longest recovery (fault over → next success)", f"{worst[0]:.1f} s ({worst[1]})")
    result.row("faults never followed by a success", len(unrecovered) and ", ".join(unrecovered), "0",
               ok=not unrecovered)


def fault_log(faults: list[FaultRecord]) -> str:
    lines = []
    for fault in faults:
        recovery = "never" if fault.recovery is None else f"{fault.recovery:.1f} s"
        lines.append(f"  +{fault.start - faults[0].start:5.0f}s  {fault.kind}: {fault.detail}"
                     + (f"; recovered in {recovery}" if fault.injected else ""))
    return "\n".join(lines)


def _webhooks(result: Result, load: Load, vendors: Vendors) -> None:
    hooks = list(load.webhooks.values())
    sends = sum(h["sends"] for h in hooks)
    result.row("webhook deliveries sent / distinct / accepted",
               f"{sends} / {len(hooks)} / {sum(1 for h in hooks if h['accepted'])}")
    result.row("webhooks never accepted (BigCommerce still redelivering)", load.pending_webhooks(), "0",
               ok=load.pending_webhooks() == 0)
    by_hash = {s.store_hash: s for s in vendors.stores}
    answers = dict(vendors.og.post_answers)
    lost = duplicated = resent = 0
    for (store, order_id), body in list(load.orders.items()):
        got = answers.get((by_hash[store].merchant_id, str(order_id)), [])
        taken = got.count(201)
        lost += load.webhooks[body]["accepted"] and taken == 0
        duplicated += taken > 1
        resent += got.count(409)
    result.row("orders / purchase posts Ordergroove took", f"{len(load.orders)} / "
               f"{sum(1 for a in answers.values() if 201 in a)}")
    result.row("purchase posts lost (webhook accepted, never posted)", lost, "0", ok=lost == 0)
    result.row("purchase posts duplicated (taken twice)", duplicated, "0", ok=duplicated == 0)
    result.row("purchase posts re-sent, answered 409 already received", resent)
    stale = customers_out_of_step(load, vendors)
    result.row("customer/card updates lost (Ordergroove not in step)", len(stale), "0", ok=not stale)
    for line in stale[:5]:
        result.row("  not in step", line)


def _placements(result: Result, load: Load, vendors: Vendors, og_events: tuple[int, int]) -> None:
    placements = list(load.placements.values())
    orders_of: dict[str, list[int]] = {}
    charges: Counter = Counter()
    for store in vendors.stores:
        fake = vendors.bc.stores[store.store_hash]
        for order in list(fake.orders.values()):
            if order.get("external_order_id"):
                orders_of.setdefault(order["external_order_id"], []).append(order["id"])
        for payment in list(fake.payments):
            if payment.get("result") == "success":
                charges[payment["order_id"]] += 1
    placed = [p for p in placements if p.answers and p.answers[-1] == "SUCCESS"]
    not_placed = [p for p in placements if p not in placed]
    twice = [p for p in placements if sum(charges[o] for o in orders_of.get(p.og_order_id, [])) > 1]
    unpaid = [p for p in placed if sum(charges[o] for o in orders_of.get(p.og_order_id, [])) == 0]
    result.row("placements sent / placed (SUCCESS)", f"{len(placements)} / {len(placed)}")
    result.row("placements lost (no SUCCESS, or SUCCESS without a charge)", len(not_placed) + len(unpaid), "0",
               ok=not not_placed and not unpaid)
    result.row("placements charged twice", len(twice), "0", ok=not twice)
    result.row("placements answered more than once (retried by Ordergroove)",
               sum(1 for p in placements if len(p.answers) > 1))
    events = list(load.og_events.values())
    accepted = sum(1 for e in events if e["accepted"])
    result.row("Ordergroove events sent / distinct / accepted",
               f"{sum(e['sends'] for e in events)} / {len(events)} / {accepted}")
    result.row("Ordergroove events never accepted", len(events) - accepted, "0", ok=accepted == len(events))
    stored, processed = og_events
    result.row("Ordergroove events stored / processed", f"{stored} / {processed}", "= accepted",
               ok=stored == processed == accepted)


def _feeds(result: Result, vendors: Vendors, watch: Watch, runs: list[dict]) -> None:
    """`runs`: every feed run (store, started_at, finished_at, status) from the database. Each upload (rename onto
    a final name) is matched to the run of its store that was running then: a run that uploaded the same file
    twice, or an upload no run accounts for, is a duplicate."""
    merchant_store = {s.merchant_id: s.store_hash for s in vendors.stores}
    renames = [e for e in vendors.sftp.events if e.kind in ("rename", "posix_rename")]
    per_run: Counter = Counter()
    unattributed = 0
    for upload in renames:
        name = upload.path.rsplit("/", 1)[-1]
        store = merchant_store.get(name.split(".", 1)[0])
        run = next((r for r in runs if r["store"] == store and r["started_at"] and
                    r["started_at"].timestamp() - 1 <= upload.at <= (r["finished_at"].timestamp() + 1
                                                                      if r["finished_at"] else float("inf"))), None)
        if run is None:
            unattributed += 1
        else:
            per_run[(run["pk"], name)] += 1
    duplicated = sum(count - 1 for count in per_run.values()) + unattributed
    statuses = Counter(r["status"] for r in runs)
    leftovers = [n for n in vendors.sftp.files("/incoming") if n.endswith(".tmp")]
    result.row("feed runs succeeded / failed", f"{statuses['succeeded']} / {statuses['failed']}")
    result.row("feed files uploaded (renamed onto the final name)", len(renames))
    result.row("feed files duplicated (a run's file uploaded twice, or by no run)", duplicated, "0",
               ok=duplicated == 0)
    result.row("partial files visible under a final name", len(watch.partial_seen) + len(watch.final_writes), "0",
               ok=not watch.partial_seen and not watch.final_writes)
    result.row("partial temporary files left (hidden .tmp names)", len(leftovers))


def _answers(result: Result, rec: Recorder, faults: list[FaultRecord]) -> None:
    windows = [(f.start, f.end + FAULT_GRACE, f.kind) for f in faults if f.injected]
    allowed, unexpected = Counter(), Counter()
    no_answer = 0
    for answer in rec.answers:
        if answer.status == 0:
            no_answer += 1
        elif answer.status < 0:
            unexpected[answer.kind] += 1  # the soak's own caller failed
        elif answer.status >= 500:
            during = [kind for start, end, kind in windows if start <= answer.at <= end]
            if answer.status == 503 and during:
                allowed[f"{answer.kind} (during {during[-1]})"] += 1  # the latest fault begun
            else:
                unexpected[f"{answer.kind} {answer.status}"] += 1
    result.row("requests answered", len(rec.answers))
    result.row("no answer (connection refused/reset while a web process was down)", no_answer)
    result.row("503 retry answers during an injected fault", sum(allowed.values()))
    for kind, count in sorted(allowed.items()):
        result.row(f"  {kind}", count)
    result.row("5xx answered to good input otherwise", sum(unexpected.values()) and
               ", ".join(f"{k} ×{v}" for k, v in unexpected.items()), "0", ok=not unexpected)


def print_table(result: Result, title: str) -> None:
    width = max(len(label) for label, _ in result.rows)
    print(f"\n{title}")
    print("-" * (width + 40))
    for label, value in result.rows:
        print(f"{label:<{width}}  {value}")
    print("-" * (width + 40))
    print("RESULT: " + ("all goals met" if not result.failures else "FAILED: " + "; ".join(result.failures)))


def wait_drained(load: Load, vendors: Vendors, timeout: float,
                 database_outstanding: Callable[[], dict[str, int]]) -> tuple[float, dict[str, int]]:
    started = time.monotonic()
    while True:
        left = {**drained(load, vendors), **database_outstanding()}
        if not any(left.values()) or time.monotonic() - started > timeout:
            return time.monotonic() - started, left
        time.sleep(1)
