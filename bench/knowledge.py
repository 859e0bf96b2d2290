"""Knowledge search at scale: `python -m bench.knowledge --articles 50000`.

Generates realistic customer-service articles (products x problems x policies, 3 to 8 sentences
each, a third public) into their own database with bulk inserts of Article and ArticleVersion
rows (not through the service one by one), builds the search index with `rebuild_index()` (timed:
full text, vocabulary and, when wordllama is installed, embeddings), then times ~500 realistic
queries in-process through `search_articles()` — one to three words, some misspelt, some as the
public (public articles only) — full text only and hybrid (full text + semantic, fused), plus
`articles_for_problem()` on case-like sentences. Reports p50/p95/p99 in ms as one JSON object on
stdout; progress goes to stderr.

SQLite by default (`var/bench-knowledge-<articles>.sqlite3`, reused when it already holds the
articles unless --fresh); `--database-url postgres://…` runs the same on PostgreSQL (the database
is emptied of knowledge rows first).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.config import VAR_DIR
from bench.machine import bench_peak_rss_mb, code_version, machine_info
from bench.measure import summarise

PRODUCTS = [
    "laptop", "desktop computer", "tablet", "phone", "smartwatch", "printer", "router",
    "monitor", "headphones", "keyboard", "mouse", "docking station", "external drive",
    "games console", "television", "camera", "speaker", "charger", "graphics card", "projector",
]  # fmt: skip
PROBLEMS = [
    ("will not charge", "battery charging cable adapter power light"),
    ("does not turn on", "power button reset battery startup"),
    ("screen is cracked", "screen display glass repair damage"),
    ("is slow", "performance memory update software storage"),
    ("keeps restarting", "restart crash update firmware error"),
    ("cannot connect to wifi", "wireless network router password signal"),
    ("overheats", "temperature fan vents cooling heat"),
    ("has no sound", "audio speaker volume driver headphones"),
    ("was delivered damaged", "delivery courier parcel damage photos"),
    ("arrived late", "delivery courier tracking dispatch delay"),
    ("is missing parts", "delivery box accessories missing parts"),
    ("stopped printing", "printer ink toner paper jam driver"),
    ("will not pair", "bluetooth pairing connection device settings"),
    ("shows an error code", "error code diagnostics firmware support"),
    ("was charged twice", "payment invoice refund card billing"),
]
POLICIES = [
    ("Returns policy", "return window refund receipt original packaging", "days"),
    ("Refurbished warranty", "refurbished warranty repair replacement parts", "days"),
    ("Price match promise", "price match competitor discount receipt", "days"),
    ("Extended warranty", "extended warranty cover accidental damage claim", "months"),
    ("Invoice terms for business", "invoice payment terms business account credit", "days"),
    ("Supported operating systems", "operating system windows linux macos support", "versions"),
    ("Data recovery service", "data recovery backup storage drive privacy", "days"),
    ("Trade-in scheme", "trade-in value credit voucher condition", "days"),
]  # fmt: skip
CATEGORIES = ["Hardware", "Delivery", "Billing", "Returns", "Warranty", "Software", "Accounts"]
SENTENCES = [
    "Ask the customer for the {product}'s serial number and the date of purchase.",
    "If the {product} {problem}, check the {w1} first and then the {w2}.",
    "Most customers fix this by updating the {w1}; walk them through it step by step.",
    "When the {w2} is the cause, book a repair at the nearest store or arrange a collection.",
    "Record what you tried on the case so a colleague does not ask the same questions again.",
    "Under the {policy} the customer has {n} {unit}; beyond that a supervisor must approve.",
    "Refurbished {product}s follow the same steps, but the warranty is shorter.",
    "Business customers on invoice terms may ask for a replacement before the repair.",
    "Never promise a refund on the phone before the {product} has been inspected.",
    "If the customer mentions the {w1} and the {w3}, escalate to technical support.",
    "In store, staff can test the {product} while the customer waits.",
    "For email replies, attach the printable {w2} guide instead of pasting the steps.",
]
TYPOS = 0.2
PUBLIC_SHARE = 0.35
PROBLEM_TEXTS = [
    "My {product} {problem} since yesterday and I need it for work",
    "I bought a refurbished {product} last month and it {problem}",
    "The {product} you sent me {problem}, I want my money back",
    "Hi, my {product} {problem}. What can I do? Is it under warranty?",
]


def log(message: str) -> None:
    print(f"[knowledge] {message}", file=sys.stderr, flush=True)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.knowledge", description=__doc__)
    p.add_argument("--articles", type=int, default=50_000)
    p.add_argument("--queries", type=int, default=500)
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--db", type=Path, help="SQLite file (default var/bench-knowledge-<n>.sqlite3)")
    p.add_argument("--database-url", help="e.g. postgres://postgres@127.0.0.1:5432/bench")
    p.add_argument("--fresh", action="store_true", help="regenerate the articles even if present")
    return p


def _setup(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loxodon.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", "--noinput", verbosity=0)


def _article(rng: random.Random, i: int) -> dict[str, Any]:
    if rng.random() < 0.12:
        name, words, unit = rng.choice(POLICIES)
        product = rng.choice(PRODUCTS)
        title = f"{name}: {product}s" if rng.random() < 0.6 else f"{name} ({i})"
        problem, pwords = rng.choice(PROBLEMS)
        pool = (words + " " + pwords).split()
    else:
        product = rng.choice(PRODUCTS)
        problem, pwords = rng.choice(PROBLEMS)
        name, words, unit = rng.choice(POLICIES)
        title = rng.choice(
            [
                f"{product.capitalize()} {problem}",
                f"What to do when a {product} {problem}",
                f"{product.capitalize()}: {problem} ({rng.choice(CATEGORIES).lower()})",
            ]
        )
        pool = pwords.split()
    body = " ".join(
        rng.choice(SENTENCES).format(
            product=product, problem=problem, policy=name, n=rng.choice([14, 30, 60, 90]),
            unit=unit, w1=rng.choice(pool), w2=rng.choice(pool), w3=rng.choice(pool),
        )
        for _ in range(rng.randint(3, 8))
    )  # fmt: skip
    return {"title": title[:200], "body": body, "product": product, "problem": problem}


def generate(n: int, seed: int) -> float:
    """Bulk insert n articles with one version each; returns seconds."""
    from django.db import connection, transaction

    from loxodon.knowledge.models import Article, ArticleVersion, Category

    rng = random.Random(seed)
    started = time.perf_counter()
    with transaction.atomic():
        with connection.cursor() as cursor:
            for table in ("knowledge_search_doc", "knowledge_search_term"):
                cursor.execute(f"DELETE FROM {table}")
            if connection.vendor == "sqlite":
                cursor.execute("DELETE FROM knowledge_search_fts")
        Article.objects.update(current=None)
        ArticleVersion.objects.all().delete()
        Article.tags.through.objects.all().delete()
        Article.objects.all().delete()
        categories = [
            Category.objects.get_or_create(slug=c.lower(), defaults={"name": c})[0]
            for c in CATEGORIES
        ]
        today = date.today()  # noqa: DTZ011 - review dates are calendar days
        chunk = 5000
        for start in range(0, n, chunk):
            articles, versions = [], []
            for i in range(start, min(n, start + chunk)):
                a = _article(rng, i)
                aid, vid = uuid.uuid4(), uuid.uuid4()
                audience = "public" if rng.random() < PUBLIC_SHARE else "internal"
                review_by = today + timedelta(days=rng.randint(-60, 365))
                articles.append(
                    Article(
                        id=aid, slug=f"kb-{i}", title=a["title"], audience=audience,
                        category=rng.choice(categories), current_id=vid,
                        is_policy=False, review_by=review_by,
                    )
                )  # fmt: skip
                versions.append(
                    ArticleVersion(
                        id=vid, article_id=aid, number=1, title=a["title"], body=a["body"],
                        audience=audience, change_note="imported", review_by=review_by,
                    )
                )  # fmt: skip
            Article.objects.bulk_create(articles, batch_size=1000)
            ArticleVersion.objects.bulk_create(versions, batch_size=1000)
            log(f"generated {min(n, start + chunk):,} / {n:,} articles")
    return time.perf_counter() - started


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 5:
        return word
    i = rng.randrange(1, len(word) - 2)
    if rng.random() < 0.5:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]  # swap
    return word[:i] + word[i + 1 :]  # drop


def queries(k: int, seed: int) -> list[tuple[str, bool, bool]]:
    """(query, as the public?, has a typo?): what agents type, one to three words."""
    rng = random.Random(seed + 1)
    everything = sorted(
        {w for p in PRODUCTS for w in p.split()}
        | {w for _, ws in PROBLEMS for w in ws.split()}
        | {w for _, ws, _ in POLICIES for w in ws.split()}
    )
    out = []
    for _ in range(k):
        kind = rng.random()
        if kind < 0.4:  # "laptop battery", "printer paper jam"
            words = [rng.choice(PRODUCTS).split()[-1]]
            words += rng.sample(rng.choice(PROBLEMS)[1].split(), rng.choice([1, 1, 2]))
        elif kind < 0.65:  # "return window", "refurbished warranty"
            pool = rng.choice(POLICIES)[1].split()
            words = rng.sample(pool, rng.choice([1, 2, 2]))
        elif kind < 0.85:  # one word
            words = [rng.choice(everything)]
        else:  # "wifi password"
            words = rng.sample(rng.choice(PROBLEMS)[1].split(), 2)
        typo = rng.random() < TYPOS
        if typo:
            j = max(range(len(words)), key=lambda i: len(words[i]))
            words[j] = _typo(words[j], rng)
        out.append((" ".join(words), rng.random() < 0.3, typo))
    return out


def _time(fn: Any, items: list[Any]) -> list[float]:
    latencies = []
    for item in items:
        t = time.perf_counter()
        fn(item)
        latencies.append(time.perf_counter() - t)
    return latencies


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    db_path = (args.db or VAR_DIR / f"bench-knowledge-{args.articles}.sqlite3").resolve()
    url = args.database_url or f"sqlite:///{db_path}"
    if not args.database_url:
        db_path.parent.mkdir(parents=True, exist_ok=True)
    _setup(url)
    from django.db import connection

    from loxodon.knowledge.models import Article
    from loxodon.knowledge.search import (
        articles_for_problem,
        index,
        rebuild_index,
        search_articles,
        semantic,
    )
    from loxodon.org.models import User

    started = datetime.now(UTC)
    have = Article.objects.count()
    generate_s = None
    if args.fresh or have != args.articles or index.doc_count() != args.articles:
        generate_s = generate(args.articles, args.seed)
        log(f"generated {args.articles:,} articles in {generate_s:.1f} s")
        t = time.perf_counter()
        last = [0.0]

        def progress(done: int, total: int) -> None:
            if time.perf_counter() - last[0] > 5:
                last[0] = time.perf_counter()
                log(f"indexed {done:,} / {total:,}")

        rebuild_index(progress)
        build_s: float | None = time.perf_counter() - t
        log(f"index built in {build_s:.1f} s")
    else:
        build_s = None
        log(f"reusing {have:,} indexed articles in {url.split('@')[-1]}")
    staff, _ = User.objects.get_or_create(
        username="bench-kb-agent", defaults={"role": "agent", "is_active": True}
    )
    qs = queries(args.queries, args.seed)
    has_semantic = semantic.model() is not None
    warm = qs[:20]
    for q, public, _ in warm:
        search_articles(None if public else staff, q, semantic=False)
        if has_semantic:
            search_articles(None if public else staff, q, semantic=True)

    def run(sem: bool) -> Any:
        return lambda item: search_articles(None if item[1] else staff, item[0], semantic=sem)

    stats: dict[str, Any] = {}
    counts = [search_articles(None if p else staff, q, semantic=False) for q, p, _ in qs]
    stats["queries"] = {
        "n": len(qs),
        "typos": sum(1 for _, _, t in qs if t),
        "public": sum(1 for _, p, _ in qs if p),
        "with_hits": sum(1 for r in counts if r.hits),
        "corrected": sum(1 for r in counts if r.corrected),
        "median_total": sorted(r.total for r in counts)[len(counts) // 2],
    }
    stats["fulltext"] = summarise(_time(run(False), qs))
    stats["fulltext_typos_only"] = summarise(_time(run(False), [x for x in qs if x[2]]))
    if has_semantic:
        stats["hybrid"] = summarise(_time(run(True), qs))
    rng = random.Random(args.seed + 2)
    problems = [
        rng.choice(PROBLEM_TEXTS).format(
            product=rng.choice(PRODUCTS), problem=rng.choice(PROBLEMS)[0]
        )
        for _ in range(100)
    ]
    stats["case_suggestions"] = summarise(
        _time(lambda text: articles_for_problem(staff, text), problems)
    )
    report = {
        "date": started.date().isoformat(),
        "database": connection.vendor,
        "articles": Article.objects.count(),
        "public_articles": Article.objects.filter(audience="public").count(),
        "semantic": has_semantic,
        "generate_seconds": round(generate_s, 1) if generate_s is not None else None,
        "index_build_seconds": round(build_s, 1) if build_s is not None else None,
        **stats,
        "peak_rss_mb": bench_peak_rss_mb(),
        "code": code_version(),
        "machine": machine_info(),
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
