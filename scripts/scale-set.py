#!/usr/bin/env python3
"""Scale sets for benchmarks (issue 14): a real series of ../shared/data given many keys.

Each record of SOURCE is written KEYS times in a row, its PK suffixed `-k<n>` (so one
minute's writes for every token come together, as a platform writes them); values are the
real ones, so every key has the same history. Nothing is parsed: the PK is replaced in the
line's text, so the output has the source's exact shapes. Writes NDJSON to standard output
(or --out); never commit the result, regenerate it.

  scripts/scale-set.py ../shared/data/usdc-depeg-2023-03.prices.ndjson --keys 1000 > /tmp/usdc-1k.ndjson
  scripts/scale-set.py ../shared/data/chains-2018-2023.tvl.ndjson --keys 50 --out /tmp/chains-10k.ndjson
  scripts/scale-set.py SOURCE --keys 100000 --limit 180   # the first 180 records of SOURCE only
"""
import argparse
import re
import sys

PK = re.compile(rb'"PK":"([^"]+)"')


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("source", help="an NDJSON record file (e.g. ../shared/data/*.ndjson)")
    ap.add_argument("--keys", type=int, required=True, help="copies of each key (>= 1)")
    ap.add_argument("--limit", type=int, default=0, help="use only the first N records of SOURCE")
    ap.add_argument("--out", default="-", help="output file (default: standard output)")
    args = ap.parse_args()
    if args.keys < 1:
        ap.error("--keys must be at least 1")
    try:
        src = open(args.source, "rb")
    except OSError as e:
        print(f"cannot read {args.source}: {e.strerror}; the data sets are in ../shared/data "
              "(see its README.md)", file=sys.stderr)
        return 1
    out = sys.stdout.buffer if args.out == "-" else open(args.out, "wb")
    width = len(str(args.keys - 1))
    suffixes = [f"-k{n:0{width}d}".encode() for n in range(args.keys)]
    written = 0
    with src:
        for i, line in enumerate(src):
            if args.limit and i >= args.limit:
                break
            line = line.rstrip(b"\n")
            m = PK.search(line)
            if not m:
                print(f"{args.source}:{i + 1}: no \"PK\" field; not a record file", file=sys.stderr)
                return 1
            head, tail = line[: m.end(1)], line[m.end(1):]
            out.write(b"".join(head + s + tail + b"\n" for s in suffixes))
            written += args.keys
    out.flush()
    print(f"{written:,} records, {args.keys:,} keys per source key", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
