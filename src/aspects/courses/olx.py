"""Reading a course from an OLX export: a Studio ``.tar.gz`` or an unpacked directory.

The export's ``course.xml`` names the run (``<course url_name=RUN org=ORG course=COURSE/>``);
``course/RUN.xml`` holds the course element. Every child element is either a pointer
(``<chapter url_name="ID"/>`` with the definition in ``chapter/ID.xml``) or an inline definition.
Only the containers (course, chapter, sequential, vertical) are descended: the inside of a
problem or an html block is content, not blocks.

Archives are read in memory, never extracted, so member paths cannot escape anywhere. Studio
never writes DTDs, so a document declaring one (entity expansion attacks) is refused.
"""

from __future__ import annotations

import hashlib
import posixpath
import tarfile
import xml.etree.ElementTree as ET
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from aspects.courses.structure import (
    CONTAINERS,
    DEFAULT_NAMES,
    SECTION,
    Block,
    CourseStructure,
    CourseStructureError,
    usage_key,
)

MAX_XML_BYTES = 20 * 1024 * 1024  # a bigger "XML file" in an export is not a course file
DEMO_COURSE_KEY = "course-v1:AspectsX+LA101+2026_T1"

Reader = Callable[[str], bytes | None]


def demo_course_path() -> Path:
    """The directory of our demo course's OLX (shipped in the package)."""
    return Path(str(resources.files("aspects.demo") / "course"))


def read_olx(path: Path) -> CourseStructure:
    """The course in an export at ``path`` (a directory or a tar archive, compressed or not)."""
    if path.is_dir():
        return parse_olx(_directory_reader(path))
    if path.is_file():
        try:
            archive = tarfile.open(path, "r:*")  # noqa: SIM115 - closed below
        except tarfile.TarError as error:
            raise CourseStructureError(f"{path}: not a tar archive ({error})") from None
        with archive:
            return parse_olx(_tar_reader(archive))
    raise CourseStructureError(f"{path}: no such file or directory")


def parse_olx(read: Reader) -> CourseStructure:
    """The course behind a reader of export-relative paths (``course.xml``, ``chapter/x.xml``)."""
    root_xml = _parse(read, "course.xml")
    if root_xml is None:
        raise CourseStructureError("no course.xml in the export")
    org, course, run = (root_xml.get(name) for name in ("org", "course", "url_name"))
    if not (org and course and run):
        raise CourseStructureError("course.xml lacks org, course or url_name")
    course_key = f"course-v1:{org}+{course}+{run}"
    definition = _parse(read, f"course/{run}.xml")
    if definition is None:
        if not len(root_xml):
            raise CourseStructureError(f"no course/{run}.xml in the export")
        definition = root_xml  # an old export with the course inline in course.xml
    blocks: dict[str, Block] = {}
    root = usage_key(course_key, "course", run)
    _add_block(read, course_key, definition, root, blocks, set())
    display_name = blocks[root].display_name
    return CourseStructure(course_key, display_name, root, blocks)


def _add_block(
    read: Reader,
    course_key: str,
    element: ET.Element,
    key: str,
    blocks: dict[str, Block],
    visiting: set[str],
) -> None:
    block_type = element.tag
    children: list[str] = []
    if block_type in CONTAINERS:
        visiting.add(key)
        for position, child in enumerate(element):
            if not isinstance(child.tag, str):
                continue  # comments and processing instructions
            if block_type == "course" and child.tag != SECTION:
                continue  # <wiki slug=...> and other course settings are not blocks
            child_id = child.get("url_name") or _generated_id(key, child.tag, position)
            child_key = usage_key(course_key, child.tag, child_id)
            if child_key in visiting or child_key in blocks:
                continue  # a cycle or a repeated pointer: keep the first place
            definition = child
            if child.get("url_name") and not len(child):
                loaded = _parse(read, f"{child.tag}/{child_id}.xml")
                if loaded is not None:
                    definition = _merged(loaded, child)
            children.append(child_key)
            _add_block(read, course_key, definition, child_key, blocks, visiting)
        visiting.discard(key)
    blocks[key] = Block(
        usage_key=key,
        block_type=block_type,
        display_name=element.get("display_name") or DEFAULT_NAMES.get(block_type, block_type),
        children=tuple(children),
        graded=(element.get("graded") or "").lower() == "true",
        format=element.get("format") or "",
    )


def _merged(definition: ET.Element, pointer: ET.Element) -> ET.Element:
    """The definition file's element, with attributes set on the pointer taking precedence."""
    for name, value in pointer.attrib.items():
        if name != "url_name":
            definition.set(name, value)
    return definition


def _generated_id(parent: str, tag: str, position: int) -> str:
    # Inline blocks without url_name: a stable id from their place in the tree.
    return hashlib.sha1(f"{parent}/{tag}/{position}".encode(), usedforsecurity=False).hexdigest()[
        :32
    ]


def _parse(read: Reader, name: str) -> ET.Element | None:
    data = read(name)
    if data is None:
        return None
    if len(data) > MAX_XML_BYTES:
        raise CourseStructureError(f"{name}: larger than {MAX_XML_BYTES} bytes")
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise CourseStructureError(f"{name}: DTDs and entities are not allowed in OLX")
    try:
        return ET.fromstring(data)  # noqa: S314 - DTDs refused above
    except ET.ParseError as error:
        raise CourseStructureError(f"{name}: invalid XML ({error})") from None


def _directory_reader(directory: Path) -> Reader:
    base = _find_base([str(p.relative_to(directory)) for p in directory.rglob("course.xml")])
    top = (directory / base).resolve()

    def read(name: str) -> bytes | None:
        target = (top / name).resolve()
        if not target.is_relative_to(top) or not target.is_file():
            return None
        return target.read_bytes()

    return read


def _tar_reader(archive: tarfile.TarFile) -> Reader:
    members = {
        posixpath.normpath(member.name.lstrip("/")): member
        for member in archive.getmembers()
        if member.isfile()
    }
    base = _find_base([name for name in members if posixpath.basename(name) == "course.xml"])

    def read(name: str) -> bytes | None:
        member = members.get(posixpath.normpath(posixpath.join(base, name)))
        if member is None:
            return None
        if member.size > MAX_XML_BYTES:
            raise CourseStructureError(f"{name}: larger than {MAX_XML_BYTES} bytes")
        handle = archive.extractfile(member)
        return None if handle is None else handle.read()

    return read


def _find_base(course_xml_paths: list[str]) -> str:
    """The export's top directory: where the shallowest course.xml is."""
    if not course_xml_paths:
        raise CourseStructureError("no course.xml in the export")
    shallowest = min(course_xml_paths, key=lambda name: (name.count("/"), name))
    return posixpath.dirname(shallowest)
