"""Weekly sales report: load the exports, clean them, fit a trend, write the figures and a summary.

A realistic notebook cell / script of the kind an agent runs (benchmarks/test_bench_bandit.py).
"""
from __future__ import annotations

import argparse
import csv
import json
import logging
import math
import statistics
import subprocess
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import requests
import yaml

LOG = logging.getLogger("weekly_report")
DATA = Path("data")
OUT = Path("reports") / "weekly"
API = "https://api.example.com/v2/exchange-rates"
REGIONS = ("north", "south", "east", "west")


@dataclass
class Settings:
    start: date
    end: date
    currency: str = "EUR"
    min_orders: int = 5
    exclude_skus: set[str] = field(default_factory=set)
    smoothing: int = 7


def parse_args(argv: list[str] | None = None) -> Settings:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--start", type=date.fromisoformat, default=date.today() - timedelta(days=7))
    parser.add_argument("--end", type=date.fromisoformat, default=date.today())
    parser.add_argument("--currency", default="EUR")
    parser.add_argument("--config", type=Path, default=Path("report.yml"))
    args = parser.parse_args(argv)
    extra = {}
    if args.config.exists():
        with args.config.open() as fh:
            extra = yaml.safe_load(fh) or {}
    return Settings(
        start=args.start,
        end=args.end,
        currency=args.currency,
        min_orders=int(extra.get("min_orders", 5)),
        exclude_skus=set(extra.get("exclude_skus", [])),
        smoothing=int(extra.get("smoothing", 7)),
    )


def load_orders(settings: Settings) -> pd.DataFrame:
    frames = []
    for path in sorted(DATA.glob("orders-*.csv")):
        stamp = datetime.strptime(path.stem.split("-", 1)[1], "%Y%m%d").date()
        if not settings.start <= stamp <= settings.end:
            continue
        frame = pd.read_csv(path, parse_dates=["created_at"], dtype={"sku": str, "region": "category"})
        frame["source_file"] = path.name
        frames.append(frame)
    if not frames:
        raise SystemExit(f"no exports between {settings.start} and {settings.end} in {DATA}")
    orders = pd.concat(frames, ignore_index=True)
    orders = orders[~orders["sku"].isin(settings.exclude_skus)]
    orders = orders.dropna(subset=["amount", "currency"])
    orders["amount"] = orders["amount"].astype(float)
    LOG.info("loaded %d orders from %d files", len(orders), len(frames))
    return orders


def exchange_rates(base: str, currencies: set[str]) -> dict[str, float]:
    cache = DATA / f"rates-{base}.json"
    if cache.exists() and datetime.fromtimestamp(cache.stat().st_mtime) > datetime.now() - timedelta(hours=12):
        return json.loads(cache.read_text())
    response = requests.get(API, params={"base": base, "symbols": ",".join(sorted(currencies))}, timeout=10)
    response.raise_for_status()
    rates = {k: float(v) for k, v in response.json()["rates"].items()}
    rates[base] = 1.0
    cache.write_text(json.dumps(rates, indent=2, sort_keys=True))
    return rates


def to_currency(orders: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    rates = exchange_rates(settings.currency, set(orders["currency"].unique()))
    missing = set(orders["currency"].unique()) - set(rates)
    if missing:
        LOG.warning("no rate for %s; dropping %d orders", ", ".join(sorted(missing)),
                    int(orders["currency"].isin(missing).sum()))
        orders = orders[~orders["currency"].isin(missing)]
    orders = orders.copy()
    orders["amount_base"] = orders["amount"] / orders["currency"].map(rates)
    return orders


def daily_totals(orders: pd.DataFrame, smoothing: int) -> pd.DataFrame:
    daily = (orders.set_index("created_at")
             .groupby("region", observed=True)["amount_base"]
             .resample("D").sum()
             .unstack(level=0)
             .fillna(0.0))
    smoothed = daily.rolling(window=smoothing, min_periods=1).mean()
    smoothed.columns = [f"{c}_smoothed" for c in smoothed.columns]
    return daily.join(smoothed)


def trend(series: pd.Series) -> tuple[float, float]:
    y = series.to_numpy(dtype=float)
    if len(y) < 2:
        return 0.0, float(y[0]) if len(y) else 0.0
    x = np.arange(len(y), dtype=float)
    slope, intercept = np.polyfit(x, y, 1)
    return float(slope), float(intercept)


def top_products(orders: pd.DataFrame, n: int = 10) -> list[tuple[str, float, int]]:
    grouped = orders.groupby("sku").agg(revenue=("amount_base", "sum"), count=("order_id", "nunique"))
    grouped = grouped.sort_values("revenue", ascending=False).head(n)
    return [(sku, round(row.revenue, 2), int(row.count)) for sku, row in grouped.iterrows()]


def customer_stats(orders: pd.DataFrame, min_orders: int) -> dict[str, float]:
    per_customer = orders.groupby("customer_id")["amount_base"].agg(["sum", "count"])
    loyal = per_customer[per_customer["count"] >= min_orders]
    values = per_customer["sum"].tolist()
    return {
        "customers": float(len(per_customer)),
        "loyal_customers": float(len(loyal)),
        "median_spend": statistics.median(values) if values else 0.0,
        "p90_spend": float(np.percentile(values, 90)) if values else 0.0,
        "gini": gini(values),
    }


def gini(values: list[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    n = len(ordered)
    cumulative = sum((i + 1) * v for i, v in enumerate(ordered))
    total = sum(ordered)
    return (2 * cumulative) / (n * total) - (n + 1) / n if total else 0.0


def region_mix(orders: pd.DataFrame) -> dict[str, dict[str, float]]:
    mix: dict[str, dict[str, float]] = defaultdict(dict)
    counts = Counter(orders["region"])
    total = sum(counts.values()) or 1
    for region in REGIONS:
        subset = orders[orders["region"] == region]
        mix[region]["share"] = round(counts.get(region, 0) / total, 4)
        mix[region]["revenue"] = round(float(subset["amount_base"].sum()), 2)
        mix[region]["avg_basket"] = round(float(subset["amount_base"].mean()), 2) if len(subset) else 0.0
    return dict(mix)


def plot(daily: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 4))
    for region in REGIONS:
        if f"{region}_smoothed" in daily:
            ax.plot(daily.index, daily[f"{region}_smoothed"], label=region)
    ax.set_ylabel("revenue")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def git_revision() -> str:
    result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
    return result.stdout.strip() or "unknown"


def write_outputs(settings: Settings, orders: pd.DataFrame, daily: pd.DataFrame) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    stem = f"{settings.start:%Y%m%d}-{settings.end:%Y%m%d}"
    daily.to_csv(OUT / f"daily-{stem}.csv")
    plot(daily, OUT / f"daily-{stem}.png")
    slopes = {region: trend(daily[region])[0] for region in REGIONS if region in daily}
    summary = {
        "period": [settings.start.isoformat(), settings.end.isoformat()],
        "currency": settings.currency,
        "revision": git_revision(),
        "orders": int(len(orders)),
        "revenue": round(float(orders["amount_base"].sum()), 2),
        "trend_per_day": {k: round(v, 3) for k, v in slopes.items()},
        "top_products": top_products(orders),
        "customers": customer_stats(orders, settings.min_orders),
        "regions": region_mix(orders),
    }
    path = OUT / f"summary-{stem}.json"
    path.write_text(json.dumps(summary, indent=2, default=str))
    with (OUT / f"top-{stem}.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["sku", "revenue", "orders"])
        writer.writerows(summary["top_products"])
    return path


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    settings = parse_args(argv)
    orders = to_currency(load_orders(settings), settings)
    daily = daily_totals(orders, settings.smoothing)
    assert not daily.empty, "no daily totals"
    path = write_outputs(settings, orders, daily)
    growth = math.fsum(trend(daily[r])[0] for r in REGIONS if r in daily)
    print(f"wrote {path} (revenue trend {growth:+.2f}/day)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
