"""Benchmark of the product feed build against merely paging through the same catalog with the same client.

Run (from the repository root):

    .venv/bin/python bench/feed.py                        # 10,000 and 100,000 variants, 2 rounds each
    .venv/bin/python bench/feed.py --sizes 10000 --rounds 3 --variants-per-product 10 --upload

For each size it starts the fake BigCommerce in its own process (so the fake's catalog does not count in the
measured process's memory) seeded with `size` variants (`--variants-per-product` per product, half of the
products with a CSV subscription row), then runs a worker process with a throwaway migrated SQLite database that:
- pages `/v3/catalog/products?include=variants,primary_image` with the BigCommerce client and does nothing else
  (the baseline), and builds both feeds (`feeds.feed.building.feed_build`: same client, same pages, plus XML,
  settings lookups and file writes), alternating, `--rounds` times each, keeping the best of each;
- reports the worker's peak RSS (the feed build runs first, so the peak is the build's), and with `--upload` the
  time to upload both files to a loopback SFTP server (real SSH; not part of the ratio).
Goals (issue 6): feed wall ≤ 1.3 × paging wall; peak RSS growth from 10k to 100k variants ≤ 30 MB.
Figures depend on the machine; only ratios measured in one run mean anything.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STORE_HASH = "benchfeed"
TOKEN = "bench-feed-token-0123456789"


def fake_main(size: int, per_product: int) -> None:
    """The fake BigCommerce process: seed, print the URL, serve until stdin closes."""
    sys.path.insert(0, str(ROOT))
    from tests.fakes.bigcommerce import FakeBigCommerce

    fake = FakeBigCommerce(client_id="bench", client_secret="bench").start()
    store = fake.add_store(STORE_HASH)
    store.access_token = TOKEN
    store.trees = [{"id": 1, "name": "Default", "channels": [1]}]
    store.tree_categories[1] = [{"id": 10 + i, "parent_id": 0, "name": f"Category {i}", "is_visible": True,
                                 "url": f"/category-{i}/", "children": []} for i in range(20)]
    products = max(size // per_product, 1)
    for index in range(products):
        variants = [{"sku": f"B{index}-{v}", "price": 10 + v, "inventory_level": v % 3,
                     "option_values": [{"label": f"Option {v}", "option_display_name": "Size"}]}
                    for v in range(per_product)] if per_product > 1 else None
        fake.add_product(STORE_HASH, name=f"Bench product {index} & friends", price=12.5 + index % 7,
                         image_url=f"https://cdn.example.com/{index}.jpg", categories=[10 + index % 20],
                         inventory_tracking="variant" if per_product > 1 else "none", variants=variants)
    print(json.dumps({"url": fake.url, "product_ids": sorted(store.products)[: products // 2]}), flush=True)
    sys.stdin.read()
    fake.stop()


def worker_main(url: str, product_ids_file: str, rounds: int, upload: bool) -> None:
    """Measure paging and feed build in this (fresh) process; print JSON figures."""
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "middleware.settings.dev"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", "--noinput", verbosity=0)
    settings.BIGCOMMERCE_API_URL = url
    from bigcommerce_app.client import BigCommerceClient
    from bigcommerce_app.models import Store
    from feeds.feed import building, selectors
    from feeds.models import ProductSubscriptionSetting

    store = Store.objects.create(store_hash=STORE_HASH, status="installed", access_token=TOKEN)
    freq = [{"name": "Every 1 month", "option_id": 1, "every": 1, "every_period": 3, "is_default": True}]
    ids = json.loads(Path(product_ids_file).read_text())
    ProductSubscriptionSetting.objects.bulk_create(
        [ProductSubscriptionSetting(store=store, bc_product_id=pid, autoship_eligible=True, frequencies=freq)
         for pid in ids], batch_size=1000)
    identity = selectors.FeedIdentity(merchant_id="BENCH", incentive_group="OFFER1")
    client = BigCommerceClient(STORE_HASH, TOKEN)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def page_through() -> int:
        count, page = 0, 1
        while True:
            body = client.products_page(page, include=building.PRODUCT_INCLUDE)
            rows = body.get("data") or []
            count += sum(len(p.get("variants") or []) for p in rows)
            total_pages = ((body.get("meta") or {}).get("pagination") or {}).get("total_pages")
            if not rows or total_pages is None or page >= int(total_pages):
                return count
            page += 1

    feed_times, paging_times, feed_cpu, paging_cpu, build = [], [], [], [], None
    out_dir = Path(tempfile.mkdtemp(prefix="bench-feed-"))
    rss_after_feed = 0.0
    for _round in range(rounds):
        started, cpu = time.perf_counter(), time.process_time()
        build = building.feed_build(store, client, out_dir, identity)
        feed_times.append(time.perf_counter() - started)
        feed_cpu.append(time.process_time() - cpu)
        rss_after_feed = max(rss_after_feed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        started, cpu = time.perf_counter(), time.process_time()
        variants = page_through()
        paging_times.append(time.perf_counter() - started)
        paging_cpu.append(time.process_time() - cpu)
    result = {"variants": variants, "products_written": build.products, "feed_bytes": build.bytes,
              "categories_bytes": build.categories_bytes, "feed_s": min(feed_times), "paging_s": min(paging_times),
              "feed_cpu_s": min(feed_cpu), "paging_cpu_s": min(paging_cpu),
              "rss_before_mb": rss_before, "peak_rss_mb": rss_after_feed}
    if upload:
        from feeds import sftp
        from tests.fakes.sftp import FakeSftpServer

        server = FakeSftpServer(users={"bench": "bench-password"}).start()
        target = sftp.SftpTarget(host="127.0.0.1", port=server.port, username="bench", password="bench-password",
                                 host_key=server.host_key_line)
        started = time.perf_counter()
        for path in (build.products_path, build.categories_path):
            sftp.sftp_upload(target, path, path.name, backoff=0)
        result["upload_s"] = time.perf_counter() - started
        server.stop()
    shutil.rmtree(out_dir, ignore_errors=True)
    print(json.dumps(result), flush=True)


def measure(size: int, per_product: int, rounds: int, upload: bool) -> dict:
    fake = subprocess.Popen([sys.executable, __file__, "--fake", str(size), "--variants-per-product",
                             str(per_product)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        info = json.loads(fake.stdout.readline())
        var_dir = tempfile.mkdtemp(prefix="bench-feed-var-")
        ids_file = Path(var_dir) / "ids.json"
        ids_file.write_text(json.dumps(info["product_ids"]))
        env = {**os.environ, "VAR_DIR": var_dir, "DATABASE_URL": f"sqlite:///{var_dir}/bench.sqlite3",
               "LOG_LEVEL": "WARNING"}
        env.pop("REDIS_URL", None)
        command = [sys.executable, __file__, "--worker", info["url"], "--ids", str(ids_file), "--rounds", str(rounds)]
        if upload:
            command.append("--upload")
        done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"worker failed:\n{done.stderr[-4000:]}")
        shutil.rmtree(var_dir, ignore_errors=True)
        return json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        fake.stdin.close()
        fake.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--variants-per-product", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--upload", action="store_true")
    parser.add_argument("--fake", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--ids", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fake:
        return fake_main(args.fake, args.variants_per_product)
    if args.worker:
        return worker_main(args.worker, args.ids, args.rounds, args.upload)
    results = {}
    for size in [int(s) for s in args.sizes.split(",")]:
        r = measure(size, args.variants_per_product, args.rounds, args.upload)
        results[size] = r
        ratio = r["feed_s"] / r["paging_s"]
        upload = f"  upload {r['upload_s']:.2f}s" if "upload_s" in r else ""
        print(f"{r['variants']:>7} variants: feed {r['feed_s']:.2f}s  paging {r['paging_s']:.2f}s  "
              f"ratio {ratio:.2f} (goal <= 1.30)  client CPU feed {r['feed_cpu_s']:.2f}s / paging "
              f"{r['paging_cpu_s']:.2f}s  peak RSS {r['peak_rss_mb']:.1f} MB "
              f"(at start {r['rss_before_mb']:.1f} MB)  feed {r['feed_bytes'] / 1e6:.1f} MB{upload}", flush=True)
    sizes = sorted(results)
    if len(sizes) >= 2:
        growth = results[sizes[-1]]["peak_rss_mb"] - results[sizes[0]]["peak_rss_mb"]
        print(f"peak RSS growth {sizes[0]} -> {sizes[-1]} variants: {growth:.1f} MB (goal <= 30 MB)")


if __name__ == "__main__":
    main()
