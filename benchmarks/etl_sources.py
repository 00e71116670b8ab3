"""Parse rate and peak memory of the Orphadata, OMIM and ClinVar loaders on enlarged real samples.

    .venv/bin/python benchmarks/etl_sources.py [--clinvar-rows 2000000] [--keep]

The real samples in ../shared/data are repeated (ids changed so records stay distinct) up to
about the size of a full release: Orphadata 11k/4.3k/4.1k/7k disorders (products 1/4/6/9_ages),
OMIM 17k genemap2, 26k mim2gene and 8k morbidmap lines, ClinVar 2 million GRCh38 rows. Each
source is parsed in a fresh child process; peak memory is the child's own high-water mark
(VmHWM), cross-checked by polling its RSS from here with psutil. ClinVar must stay under 1.5 GB
(taken as 1500 MiB).
Prints a table and writes benchmarks/results/etl_sources.json.
"""

from __future__ import annotations

import argparse
import copy
import gzip
import json
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
RESULTS = Path(__file__).resolve().parent / "results" / "etl_sources.json"
CLINVAR_LIMIT_MIB = 1500
ORPHADATA_SIZES = {  # product -> (sample, disorders in the enlarged file, about a full release)
    "product1": ("release-heads_1.3.29-1.3.42/en_product1.head.xml", 11_000),
    "product4": ("release-heads_1.3.29-1.3.42/en_product4.head.xml", 4_300),
    "product6": ("release-heads_1.3.29-1.3.42/en_product6.head.xml", 4_100),
    "product9_ages": ("release-heads_1.3.29-1.3.42/en_product9_ages.head.xml", 7_000),
}


# --- enlarged inputs -------------------------------------------------------------------------


def make_orphadata(out: Path) -> list[Path]:
    """One file per product: the sample's records repeated, each with a new OrphaCode."""
    from lxml import etree

    paths = []
    for product, (sample, target) in ORPHADATA_SIZES.items():
        tree = etree.parse(str(SHARED / "orphadata" / sample))
        records_list = next(c for c in tree.getroot() if isinstance(c.tag, str) and c.tag.endswith("List"))
        records = list(records_list)
        for i in range(target - len(records)):
            clone = copy.deepcopy(records[i % len(records)])
            for code in clone.iter("OrphaCode"):
                code.text = str(1_000_000 + i)
                break
            records_list.append(clone)
        path = out / f"en_{product}.xml"
        tree.write(str(path), encoding=tree.docinfo.encoding, xml_declaration=True)
        paths.append(path)
    return paths


def _data_lines(path: Path) -> tuple[list[str], list[str]]:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    return [x for x in lines if x.startswith("#")], [x for x in lines if x.strip() and not x.startswith("#")]


def make_omim(out: Path) -> Path:
    """genemap2, mim2gene and morbidmap with the sample lines repeated and MIM numbers renumbered."""
    mim = re.compile(r"\b\d{6}\b")
    for name, sample, target in (("genemap2.txt", "genemap2.fixture.txt", 17_000),
                                 ("mim2gene.txt", "mim2gene.head40.txt", 26_000),
                                 ("morbidmap.txt", "morbidmap.head40.txt", 8_000)):
        header, data = _data_lines(SHARED / "omim" / sample)
        with (out / name).open("w", encoding="utf-8") as handle:
            handle.writelines(header[:4])
            for i in range(target):
                offset = i // len(data)
                line = mim.sub(lambda m, k=offset: str((int(m.group()) + k * 1_000) % 900_000 + 100_000), data[i % len(data)])
                if name == "genemap2.txt":  # a distinct Entrez id per gene line
                    cells = line.split("\t")
                    cells[9] = str(10_000_000 + i)
                    line = "\t".join(cells)
                handle.write(line)
    return out


def make_clinvar(out: Path, rows: int) -> Path:
    """variant_summary.txt.gz of `rows` GRCh38 rows: the sample's, with new VariationID/AlleleID each."""
    lines = gzip.decompress((SHARED / "clinvar/exomiser-extracts/variant_summary.clinvar_test.txt.gz").read_bytes()).decode()
    header, *data = lines.splitlines()
    columns = header.lstrip("#").split("\t")
    assembly, variation, allele = columns.index("Assembly"), columns.index("VariationID"), columns.index("AlleleID")
    grch38 = [cells for cells in (line.split("\t") for line in data) if cells[assembly] == "GRCh38"]
    path = out / "variant_summary.txt.gz"
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as handle:
        handle.write(header + "\n")
        for start in range(0, rows, 100_000):
            chunk = []
            for i in range(start, min(rows, start + 100_000)):
                cells = list(grch38[i % len(grch38)])
                cells[variation], cells[allele] = str(1_000_000 + i), str(5_000_000 + i)
                chunk.append("\t".join(cells) + "\n")
            handle.write("".join(chunk))
    return path


# --- one source in a child process -----------------------------------------------------------


def child(source: str, paths: list[str]) -> dict[str, object]:
    """Parse one source; report seconds, output rows and its own peak RSS (MiB)."""
    start, cpu_start = time.perf_counter(), time.process_time()
    if source == "orphadata":
        from raregraph.etl.sources.orphadata import load_orphadata

        output = load_orphadata([Path(p) for p in paths])
    elif source == "omim":
        from raregraph.etl.sources.omim import load_omim

        output = load_omim(Path(paths[0]))
    else:
        from raregraph.etl.sources.clinvar import load_clinvar

        output = load_clinvar(Path(paths[0]))
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    return {"seconds": seconds, "cpu_seconds": cpu_seconds, "rows_out": {k: v.height for k, v in output.tables.items()},
            "skipped": dict(output.report.skipped), "peak_rss_mib": _peak_rss_mib()}


def _peak_rss_mib() -> float:
    """This process's peak RSS: VmHWM (reset by exec, unlike ru_maxrss, which keeps the forking parent's)."""
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(source: str, paths: list[Path]) -> dict[str, object]:
    """Run `child` in a fresh interpreter, polling its RSS every 20 ms."""
    import psutil

    cmd = [sys.executable, __file__, "--child", source, *map(str, paths)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watched, sampled = psutil.Process(proc.pid), 0
    while proc.poll() is None:
        try:
            sampled = max(sampled, watched.memory_info().rss)
        except psutil.Error:
            break
        time.sleep(0.02)
    stdout, stderr = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"{source} child failed:\n{stderr}")
    result = json.loads(stdout.strip().splitlines()[-1])
    result["sampled_peak_rss_mib"] = sampled / (1 << 20)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clinvar-rows", type=int, default=2_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the generated inputs (printed path)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], args.child[1:])))
        return 0

    tmp = Path(tempfile.mkdtemp(prefix="raregraph-bench-"))
    print(f"generating inputs in {tmp} …", flush=True)
    inputs = {"orphadata": make_orphadata(tmp), "omim": [make_omim(tmp)],
              "clinvar": [make_clinvar(tmp, args.clinvar_rows)]}
    sizes = {"orphadata": sum(p.stat().st_size for p in inputs["orphadata"]),
             "omim": sum((tmp / n).stat().st_size for n in ("genemap2.txt", "mim2gene.txt", "morbidmap.txt")),
             "clinvar": inputs["clinvar"][0].stat().st_size}
    records = {"orphadata": sum(target for _, target in ORPHADATA_SIZES.values()),  # top-level XML records
               "omim": 17_000 + 26_000 + 8_000, "clinvar": args.clinvar_rows}  # data lines
    results = {}
    for source, paths in inputs.items():
        result = run_child(source, paths)
        result["records"] = records[source]
        if source == "clinvar":
            result["limit_mib"], result["within_limit"] = CLINVAR_LIMIT_MIB, result["peak_rss_mib"] < CLINVAR_LIMIT_MIB
        result["input_mib"] = sizes[source] / (1 << 20)
        result["records_per_s"] = result["records"] / result["seconds"]
        results[source] = result

    print(f"\n{'source':<10} {'input MiB':>9} {'records':>10} {'wall s':>7} {'cpu s':>6} {'records/s':>10} "
          f"{'peak RSS MiB':>12} {'sampled MiB':>11}  rows out")
    for source, r in results.items():
        print(f"{source:<10} {r['input_mib']:>9.1f} {r['records']:>10,} {r['seconds']:>7.2f} {r['cpu_seconds']:>6.2f} "
              f"{r['records_per_s']:>10,.0f} {r['peak_rss_mib']:>12.0f} {r['sampled_peak_rss_mib']:>11.0f}  {r['rows_out']}")
    clinvar = results["clinvar"]
    verdict = "within" if clinvar["within_limit"] else "OVER"
    print(f"\nClinVar peak RSS {clinvar['peak_rss_mib']:.0f} MiB: {verdict} the {CLINVAR_LIMIT_MIB} MiB limit "
          f"({args.clinvar_rows:,} rows, {clinvar['input_mib']:.0f} MiB gzip)")

    import polars

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S"), "python": platform.python_version(),
        "polars": polars.__version__, "cpus": os.cpu_count(), "machine": platform.machine(),
        "clinvar_rows": args.clinvar_rows, "results": results,
    }, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS}")
    if args.keep:
        print(f"inputs kept in {tmp}")
    else:
        for path in sorted(tmp.iterdir()):
            path.unlink()
        tmp.rmdir()
    return 0 if clinvar["within_limit"] else 1


if __name__ == "__main__":
    sys.exit(main())
