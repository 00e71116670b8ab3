"""Cut tests/data/eval/ from the project's development split (see README.md here for what and why).

    python tests/data/eval/make_excerpt.py <development split folder> tests/data/eval

Cases are chosen by rule, never by hand-edited content: lines are copied byte for byte, in their
original order, with the phenopacket of each chosen case.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

FIRST_LINES = 20  # tests/api/test_cli.py ranks the first 20 lines
EVERY = 97  # tests/llm/record_fixtures.py's dev:1..3 cases: lines 97, 194, 291
NAMED = ("PMID_28830446_Patient_2",)  # ADA2: tests/retrieval/test_case_input.py reads a folder of two packets
FILES = ("dev_sample.jsonl", "dev_sample_p.jsonl", "dev_sample_pv.jsonl", "dev_sample_gold.jsonl")


def _accessions(row: dict) -> set[str]:
    return {v["hgvs_g"].split(":")[0] for v in row["variants"] if (v.get("hgvs_g") or "").startswith("NC_0000")}


def _age_form(age: str | None) -> str:
    return "none" if age is None else re.sub(r"\d+", "n", age)


def choose(rows: list[dict]) -> list[int]:
    """Indices of the cases kept: fixed ones first, then the first case showing each feature."""
    chosen = set(range(FIRST_LINES)) | {EVERY, 2 * EVERY, 3 * EVERY}
    chosen |= {i for i, row in enumerate(rows) if row["id"] in NAMED}

    def first(test) -> None:
        hit = next((i for i, row in enumerate(rows) if test(row)), None)
        if hit is not None:
            chosen.add(hit)

    for kind in sorted({v.get("structural_type") for r in rows for v in r["variants"]} - {None}):
        first(lambda r, kind=kind: any(v.get("structural_type") == kind for v in r["variants"]))
    first(lambda r: any(len(v.get("ref") or "") > 1000 for v in r["variants"]))  # a long deleted allele
    first(lambda r: any(len(v.get("alt") or "") > 1000 for v in r["variants"]))  # a long inserted allele
    for form in sorted({_age_form(r["age"]) for r in rows}):
        first(lambda r, form=form: _age_form(r["age"]) == form)
    for sex in sorted({str(r["sex"]) for r in rows}):
        first(lambda r, sex=sex: str(r["sex"]) == sex)
    # every RefSeq chromosome accession of the split (tests/retrieval: refseq_chromosome)
    wanted = set().union(*(_accessions(r) for r in rows))
    while missing := wanted - set().union(*(_accessions(rows[i]) for i in chosen)):
        chosen.add(max(range(len(rows)), key=lambda i: (len(_accessions(rows[i]) & missing), -i)))
    return sorted(chosen)


def main(source: Path, target: Path) -> None:
    lines = {name: (source / name).read_text(encoding="utf-8").splitlines(keepends=True) for name in FILES}
    rows = [json.loads(line) for line in lines["dev_sample.jsonl"]]
    for name in FILES:  # the four files are line-aligned
        assert [json.loads(line)["id"] for line in lines[name]] == [r["id"] for r in rows], name
    keep = choose(rows)
    for name in FILES:
        (target / name).write_text("".join(lines[name][i] for i in keep), encoding="utf-8")
    packets = target / "phenopackets"
    shutil.rmtree(packets, ignore_errors=True)
    packets.mkdir()
    for i in keep:
        stem = f"{rows[i]['path'].split('/')[1]}__{rows[i]['id']}"
        shutil.copyfile(source / "phenopackets" / f"{stem}.json", packets / f"{stem}.json")
    print(f"{len(keep)} cases: lines {[i + 1 for i in keep]}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
