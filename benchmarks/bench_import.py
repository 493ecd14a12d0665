"""Import speed: build an export of N order lines (default one million) and time `workbench import`.

    .venv/bin/python benchmarks/bench_import.py                    # Taobao item rows, GB18030, 1,000,000 lines
    .venv/bin/python benchmarks/bench_import.py --kind shopify --lines 200000

The export is written with DuckDB (Taobao: then re-encoded to GB18030, as the platform delivers
it); the import runs in a child process so that its peak memory (max RSS) is its own. Prints
lines per second, wall time and peak memory, and whether `workbench.load` accepts the result.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

TAOBAO = """
SELECT '="' || (3700000000000 + o) || '"' AS "订单编号",
       '买家' || (hash(o) % 200000) || '号' AS "买家会员名",
       '收货人' || (o % 997) AS "收货人姓名",
       '139' || lpad(CAST(hash(o * 7) % 100000000 AS VARCHAR), 8, '0') AS "联系手机",
       '浙江省 杭州市 西湖区 文三路' || (o % 500) || '号' AS "收货地址",
       strftime(TIMESTAMP '2024-01-01' + INTERVAL (o % 31536000) SECOND, '%Y-%m-%d %H:%M:%S') AS "订单付款时间",
       strftime(TIMESTAMP '2024-01-01' + INTERVAL (o % 31536000 - 60) SECOND, '%Y-%m-%d %H:%M:%S') AS "订单创建时间",
       CASE WHEN o % 10 = 0 THEN '交易关闭' WHEN o % 17 = 0 THEN '退款成功' ELSE '交易成功' END AS "订单状态",
       '商品标题 ' || (l * 31 + o) % 5000 AS "商品标题",
       'SKU-' || (l * 31 + o) % 5000 AS "商家编码",
       printf('%.2f', 10 + ((l * 31 + o) % 5000) / 10.0) AS "单价",
       1 + (o + l) % 3 AS "购买数量",
       printf('￥%,.2f', (1 + (o + l) % 3) * (10 + ((l * 31 + o) % 5000) / 10.0)) AS "实付金额",
       '8.00' AS "邮费"
FROM (SELECT i // 3 AS o, i % 3 AS l FROM range({n}) t(i))
"""

SHOPIFY = """
SELECT '#' || (100000 + o) AS "Name", 'buyer' || (hash(o) % 200000) || '@example.com' AS "Email",
       CASE WHEN l = 0 THEN CASE WHEN o % 11 = 0 THEN 'refunded' ELSE 'paid' END END AS "Financial Status",
       CASE WHEN l = 0 THEN strftime(TIMESTAMP '2024-01-01' + INTERVAL (o % 31536000) SECOND, '%Y-%m-%d %H:%M:%S')
            || ' -0400' END AS "Paid at",
       CASE WHEN l = 0 THEN 'USD' END AS "Currency", CASE WHEN l = 0 THEN 100.0 END AS "Subtotal",
       CASE WHEN l = 0 THEN 7.5 END AS "Shipping", CASE WHEN l = 0 THEN 115.5 END AS "Total",
       CASE WHEN l = 0 THEN 5.0 END AS "Discount Amount",
       CASE WHEN l = 0 AND o % 11 = 0 THEN 115.5 END AS "Refunded Amount",
       strftime(TIMESTAMP '2024-01-01' + INTERVAL (o % 31536000) SECOND, '%Y-%m-%d %H:%M:%S') || ' -0400'
           AS "Created at",
       1 + (o + l) % 3 AS "Lineitem quantity", 'Item ' || (l * 31 + o) % 5000 AS "Lineitem name",
       10 + ((l * 31 + o) % 5000) / 100.0 AS "Lineitem price", 'SKU-' || (l * 31 + o) % 5000 AS "Lineitem sku",
       'Name ' || o AS "Billing Name", '+1 555 ' || o AS "Phone", 'US' AS "Shipping Country"
FROM (SELECT i // 3 AS o, i % 3 AS l FROM range({n}) t(i))
"""


def build(kind: str, n: int, folder: Path) -> Path:
    con = duckdb.connect()
    utf8 = folder / f"{kind}_utf8.csv"
    query = (TAOBAO if kind == "taobao" else SHOPIFY).format(n=n)
    con.execute(f"COPY ({query}) TO '{utf8}' (HEADER, DELIMITER ',')")
    if kind != "taobao":
        return utf8
    target = folder / "taobao_gb18030.csv"
    with open(utf8, encoding="utf-8", newline="") as src, open(target, "w", encoding="gb18030", newline="") as dst:
        while chunk := src.read(1 << 22):
            dst.write(chunk)
    utf8.unlink()
    return target


def child(kind: str, source: str, out: str) -> None:
    os.environ.setdefault("WORKBENCH_PSEUDONYM_KEY", "benchmark-key")
    from workbench.data.importers import import_file

    t0 = time.perf_counter()
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    rep = import_file(kind, source, out)
    t_import = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    from workbench import load

    t1 = time.perf_counter()
    ds = load(out, strict=False)
    t_load = time.perf_counter() - t1
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": t_import, "cpu_seconds": cpu, "load_avg": os.getloadavg()[0], "load_seconds": t_load, "peak_mb": peak_mb, "tables": rep.tables,
                      "load_errors": len(ds.errors)}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--kind", choices=("taobao", "shopify"), default="taobao")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        t0 = time.perf_counter()
        src = build(args.kind, args.lines, Path(tmp))
        size = src.stat().st_size / 1e6
        print(f"built {args.lines:,} {args.kind} order lines ({size:,.0f} MB) in {time.perf_counter() - t0:.1f} s")
        proc = subprocess.run([sys.executable, __file__, "--child", args.kind, str(src), str(Path(tmp) / "out")],
                              check=False, capture_output=True, text=True)
        if proc.returncode:
            sys.exit(proc.stderr)
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"import: {r['seconds']:.1f} s = {args.lines / r['seconds']:,.0f} lines/s; "
              f"peak memory {r['peak_mb']:,.0f} MB; tables {r['tables']}")
        print(f"  CPU time {r['cpu_seconds']:.1f} s on {os.cpu_count()} cores (machine load average "
              f"{r['load_avg']:.1f}: on a busy machine the wall time is longer than the CPU time suggests)")
        print(f"workbench.load of the result: {r['load_seconds']:.1f} s, {r['load_errors']} error(s)")


if __name__ == "__main__":
    main()
