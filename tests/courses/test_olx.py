"""OLX exports (directory and Studio .tar.gz) into the course structure tables."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import tarfile
from pathlib import Path

import pytest
from clickhouse_connect.driver.client import Client

from aspects.courses.olx import DEMO_COURSE_KEY, demo_course_path, read_olx
from aspects.courses.store import store_structure
from aspects.courses.structure import CourseStructureError, flatten
from aspects.store.settings import StoreSettings

PREFIX = "block-v1:AspectsX+LA101+2026_T1+type@"


def _tar(source: Path, target: Path, top: str = "course") -> Path:
    with tarfile.open(target, "w:gz") as archive:
        archive.add(source, arcname=top)
    return target


def test_demo_course_directory() -> None:
    structure = read_olx(demo_course_path())
    assert structure.course_key == DEMO_COURSE_KEY
    assert structure.display_name == "Learning Analytics with Open edX"
    rows = flatten(structure)
    kinds = [row.block_type for row in rows]
    assert (kinds.count("chapter"), kinds.count("sequential"), kinds.count("vertical")) == (3, 6, 8)
    assert (kinds.count("problem"), kinds.count("video"), kinds.count("html")) == (8, 4, 4)
    assert [row.position for row in rows] == list(range(len(rows)))
    for row in rows:
        if row.block_type != "course":
            assert row.block_id.startswith(PREFIX + row.block_type + "+block@")
            assert len(row.block_id.rsplit("@", 1)[1]) == 32  # ids as Studio writes them
    exam = next(row for row in rows if row.display_name == "Exam question 2")
    assert (exam.section_name, exam.section_index) == ("Reports and Dashboards", 3)
    assert (exam.subsection_name, exam.subsection_index) == ("Final exam", 2)
    assert (exam.unit_name, exam.unit_index, exam.graded, exam.format) == (
        "Exam",
        1,
        True,
        "Final Exam",
    )
    welcome_video = next(row for row in rows if row.display_name == "Welcome video")
    assert not welcome_video.graded
    assert welcome_video.parent_id == next(
        r.block_id for r in rows if r.display_name == "Welcome to the course"
    )


def test_studio_tar_gz_equals_the_directory(tmp_path: Path) -> None:
    archive = _tar(demo_course_path(), tmp_path / "export.tar.gz")
    assert flatten(read_olx(archive)) == flatten(read_olx(demo_course_path()))


def test_inline_blocks_and_defaults(tmp_path: Path) -> None:
    (tmp_path / "course").mkdir()
    (tmp_path / "course.xml").write_text('<course url_name="R1" org="O" course="C"/>')
    (tmp_path / "course" / "R1.xml").write_text(
        '<course display_name="Inline"><wiki slug="x"/>'
        '<chapter url_name="ch"><sequential url_name="sq" graded="true" format="Lab">'
        '<vertical url_name="v1"><problem url_name="p1" display_name="Q">'
        "<multiplechoiceresponse/></problem><video url_name='vid'/></vertical>"
        "</sequential></chapter></course>"
    )
    rows = flatten(read_olx(tmp_path))
    assert [(r.block_type, r.display_name) for r in rows] == [
        ("course", "Inline"),
        ("chapter", "Section"),
        ("sequential", "Subsection"),
        ("vertical", "Unit"),
        ("problem", "Q"),
        ("video", "Video"),
    ]
    assert rows[4].block_id == "block-v1:O+C+R1+type@problem+block@p1"
    assert rows[4].graded
    assert rows[4].format == "Lab"


@pytest.mark.parametrize(
    ("course_xml", "message"),
    [
        (None, "no course.xml"),
        ('<course org="O" course="C"/>', "lacks org, course or url_name"),
        ('<!DOCTYPE x [<!ENTITY a "b">]><course url_name="R" org="O" course="C"/>', "DTD"),
        ("<course", "invalid XML"),
        ('<course url_name="R" org="O" course="C"/>', "no course/R.xml"),
    ],
)
def test_bad_exports_are_refused_with_a_reason(
    tmp_path: Path, course_xml: str | None, message: str
) -> None:
    (tmp_path / "other.txt").write_text("x")
    if course_xml is not None:
        (tmp_path / "course.xml").write_text(course_xml)
    with pytest.raises(CourseStructureError, match=message):
        read_olx(tmp_path)


def test_not_an_archive(tmp_path: Path) -> None:
    bogus = tmp_path / "export.tar.gz"
    bogus.write_bytes(b"not a tar")
    with pytest.raises(CourseStructureError, match="not a tar archive"):
        read_olx(bogus)
    with pytest.raises(CourseStructureError, match="no such file"):
        read_olx(tmp_path / "missing")


def test_tar_member_paths_cannot_escape(tmp_path: Path) -> None:
    target = tmp_path / "evil.tar.gz"
    with tarfile.open(target, "w:gz") as archive:
        for name, data in [
            ("course/course.xml", b'<course url_name="R" org="O" course="C"/>'),
            (
                "course/course/R.xml",
                b'<course display_name="E"><chapter url_name="../../x"/></course>',
            ),
        ]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    rows = flatten(read_olx(target))
    assert [r.display_name for r in rows] == ["E", "Section"]  # the pointer resolves to nothing


def test_reimport_replaces_the_course(
    store: Client, store_settings: StoreSettings, tmp_path: Path
) -> None:
    db = store_settings.database
    first = read_olx(demo_course_path())
    store_structure(store, db, first, "olx", dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    copy = tmp_path / "course"
    shutil.copytree(demo_course_path(), copy)
    chapter_file = copy / "course" / "2026_T1.xml"
    lines = chapter_file.read_text().splitlines()
    chapter_file.write_text(
        "\n".join(line for line in lines if "chapter" not in line or line is lines[1])
    )
    second = read_olx(copy)
    store_structure(store, db, second, "olx", dt.datetime(2026, 2, 1, tzinfo=dt.UTC))
    names = store.query(
        f"SELECT display_name FROM {db}.course_structure WHERE block_type = 'chapter'"
    ).result_rows
    assert names == [("Getting Started",)]
    count = store.command(f"SELECT count() FROM {db}.course_structure")
    assert int(str(count)) == len(flatten(second)) < len(flatten(first))
    courses = store.query(f"SELECT course_key, org, block_count, source FROM {db}.courses FINAL")
    assert courses.result_rows == [(DEMO_COURSE_KEY, "AspectsX", len(flatten(second)), "olx")]
