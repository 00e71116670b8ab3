"""Snapshot diff on two versions of the mini release."""

from __future__ import annotations

from pathlib import Path

from raregraph.etl.build import BuildInputs, build_snapshot
from raregraph.etl.diff import diff_snapshots
from raregraph.etl.snapshot import Snapshot
from raregraph.etl.sources.hpo import find_hpo_files


def test_diff_reports_each_kind_of_change(mini_copy: Path, mini_snapshot: Snapshot, tmp_path: Path) -> None:
    obo = mini_copy / "hp.obo"
    text = obo.read_text(encoding="utf-8")
    text = text.replace("name: Disproportionate tall stature", "name: Tall stature, disproportionate")
    text = text.replace(
        "id: HP:0002373\nname: Febrile seizure (within the age range of 3 months to 6 years)\n"
        'synonym: "Febrile convulsions" EXACT []\nis_a: HP:0001250 ! Seizure\n',
        "id: HP:0002373\nname: obsolete Febrile seizure\nis_obsolete: true\nreplaced_by: HP:0001250\n",
    )
    text += "\n[Term]\nid: HP:0100022\nname: Abnormality of movement\nis_a: HP:0000707 ! Abnormality of the nervous system\n"
    text = text.replace('synonym: "Spider fingers" EXACT layperson []', 'synonym: "Long thin fingers" EXACT layperson []')
    obo.write_text(text, encoding="utf-8")
    hpoa = mini_copy / "phenotype.hpoa"
    hpoa.write_text(
        hpoa.read_text(encoding="utf-8")
        + "OMIM:154700\tMarfan syndrome\t\tHP:0100022\tPMID:9\tPCS\t\t1/3\t\t\tP\tHPO:probinson[2025-01-01]\n",
        encoding="utf-8",
    )
    new = build_snapshot(BuildInputs(find_hpo_files(mini_copy)), tmp_path / "out")
    diff = diff_snapshots(mini_snapshot, new)

    assert [t["id"] for t in diff.terms_added] == ["HP:0100022"]
    assert diff.terms_removed == []
    assert diff.terms_obsoleted == [
        {"id": "HP:0002373", "label": "Febrile seizure (within the age range of 3 months to 6 years)",
         "replaced_by": "HP:0001250", "consider": []}
    ]
    relabelled = {t["id"]: t["new_label"] for t in diff.terms_relabelled}
    assert relabelled["HP:0001519"] == "Tall stature, disproportionate"
    assert {(s["term_id"], s["synonym"]) for s in diff.synonyms_added} == {("HP:0001166", "Long thin fingers")}
    assert ("HP:0001166", "Spider fingers") in {(s["term_id"], s["synonym"]) for s in diff.synonyms_removed}
    marfan = next(d for d in diff.annotations_by_disease if d["disease_id"] == "OMIM:154700")
    assert [a["term_id"] for a in marfan["added"]] == ["HP:0100022"]
    assert diff.summary()["annotations added"] == 1


def test_diff_of_a_snapshot_with_itself_is_empty(mini_snapshot: Snapshot) -> None:
    assert all(count == 0 for count in diff_snapshots(mini_snapshot, mini_snapshot).summary().values())
