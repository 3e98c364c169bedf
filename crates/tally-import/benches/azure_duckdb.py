"""The Azure job of azure_floor.sh in DuckDB, for a by-hand comparison (not run in CI):

    pip install duckdb
    python3 crates/tally-import/benches/azure_duckdb.py /tmp/tally-azure-floor/usage-1000000-20.csv

Reads every column as text (as Tally and the baseline do), sums BillingPreTaxTotal as
DECIMAL(38, 9) per customer domain and currency, and prints each total x 1.15 rounded half away
from zero to cents, in the baseline's format (`domain currency amount`), so the outputs can be
compared with `cmp`. Time it with `/usr/bin/time -f "%e %U %S %M"`.
"""

import sys

import duckdb

path = sys.argv[1]
rows = duckdb.sql(
    f"""
    SELECT CustomerDomainName, BillingCurrency,
           sum(CAST(BillingPreTaxTotal AS DECIMAL(38, 9))) AS total
    FROM read_csv('{path}', header = true, all_varchar = true)
    GROUP BY 1, 2
    ORDER BY 1, 2
    """
).fetchall()
for domain, currency, total in rows:
    billed = (total * 115 / 100).quantize(__import__("decimal").Decimal("0.01"), rounding="ROUND_HALF_UP")
    print(f"{domain} {currency} {billed}")
