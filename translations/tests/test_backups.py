"""`manage.py backup` / `restore`: dump → wipe → restore → the chapter is served again; damaged,
foreign or unsafe backups are refused before anything is touched."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tarfile

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from translations import storage
from translations.models import Chapter, Manga, Page, PageResult
from translations.services.backups import backup_read
from translations.services.execution import job_run
from translations.services.jobs import chapter_request_translation
from translations.tests.job_helpers import ScriptedExecutor, make_chapter, make_staff

pytestmark = pytest.mark.django_db(transaction=True)  # pg_dump and SQLite's backup see only committed rows


@pytest.fixture
def library():
    staff = make_staff()
    staff.is_superuser = True  # sees the chapter in the admin after the restore
    staff.save()
    chapter = make_chapter(2)
    job = chapter_request_translation(chapter=chapter, translator="test", backend="local", requested_by=staff)
    job_run(job_id=job.pk, executor=ScriptedExecutor())
    return chapter


def wipe(data_dir) -> None:
    call_command("flush", "--noinput")
    for area in ("raw", "output", "thumbs"):
        shutil.rmtree(data_dir / area, ignore_errors=True)


def test_a_chapter_backed_up_wiped_and_restored_is_served_again(library, data_dir, tmp_path):
    pages = {page.pk: storage.resolve_path(page.image).read_bytes() for page in library.pages.all()}
    outputs = {r.pk: storage.resolve_path(r.output_path).read_bytes() for r in PageResult.objects.all()}
    assert len(pages) == 2 and len(outputs) == 2
    target = tmp_path / "backup"
    out = io.StringIO()

    call_command("backup", str(target), stdout=out)

    manifest = json.loads((target / "manifest.json").read_text())
    assert manifest["counts"] == {"manga": 1, "chapters": 1, "pages": 2, "jobs": 1, "page_results": 2}
    assert manifest["referenced_files"] == 4
    assert manifest["data"]["files"] == 4
    database_file = manifest["database"]["file"]
    assert sorted(p.name for p in target.iterdir()) == sorted(["manifest.json", "data.tar", database_file])
    assert "backed up" in out.getvalue()

    wipe(data_dir)
    assert not Manga.objects.exists() and not (data_dir / "raw").exists()

    call_command("restore", str(target), stdout=io.StringIO())

    assert Chapter.objects.get().pages.count() == 2
    reader = Client()
    reader.force_login(get_user_model().objects.get(username="staff"))  # the account came back too
    for page_id, data in pages.items():
        response = reader.get(reverse("page-image", args=[page_id]))
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == data
    for result in PageResult.objects.all():
        assert storage.resolve_path(result.output_path).read_bytes() == outputs[result.pk]
    page = Page.objects.first()
    admin_page = reader.get(reverse("admin:translations_chapter_change", args=[page.chapter_id]))
    assert admin_page.status_code == 200


def test_it_refuses_to_replace_a_library_without_replace(library, tmp_path):
    call_command("backup", str(tmp_path / "backup"), stdout=io.StringIO())

    with pytest.raises(CommandError, match="already holds manga: pass --replace"):
        call_command("restore", str(tmp_path / "backup"))

    call_command("restore", str(tmp_path / "backup"), "--replace", stdout=io.StringIO())
    assert Manga.objects.count() == 1


def test_a_damaged_backup_is_refused_before_anything_changes(library, data_dir, tmp_path):
    target = tmp_path / "backup"
    call_command("backup", str(target), stdout=io.StringIO())
    with (target / "data.tar").open("r+b") as archive:
        archive.seek(600)
        archive.write(b"X")
    wipe(data_dir)

    with pytest.raises(CommandError, match="does not match its sha256"):
        call_command("restore", str(target))

    assert not Manga.objects.exists()
    assert not (data_dir / "raw").exists()


def test_an_archive_with_a_path_outside_the_data_directory_is_refused(library, data_dir, tmp_path):
    target = tmp_path / "backup"
    call_command("backup", str(target), stdout=io.StringIO())
    with tarfile.open(target / "data.tar", "a") as archive:
        evil = tarfile.TarInfo("raw/../../escaped.txt")
        evil.size = 4
        archive.addfile(evil, io.BytesIO(b"evil"))
    manifest = json.loads((target / "manifest.json").read_text())
    manifest["data"]["sha256"] = hashlib.sha256((target / "data.tar").read_bytes()).hexdigest()
    (target / "manifest.json").write_text(json.dumps(manifest))
    backup_read(target)  # the sha256 is right: only the content is wrong

    with pytest.raises(CommandError, match="which a backup never does"):
        call_command("restore", str(target), "--replace")

    assert not (data_dir.parent / "escaped.txt").exists()
    assert not (tmp_path / "escaped.txt").exists()


def test_a_backup_with_a_missing_page_file_fails_and_names_it(library, tmp_path):
    page = Page.objects.order_by("index").first()
    storage.resolve_path(page.image).unlink()

    with pytest.raises(CommandError, match=f"missing from the data directory.*{page.image}"):
        call_command("backup", str(tmp_path / "backup"))


def test_it_refuses_a_folder_that_is_not_a_backup(tmp_path, db):
    (tmp_path / "empty").mkdir()
    with pytest.raises(CommandError, match=r"has no manifest\.json"):
        call_command("restore", str(tmp_path / "empty"))
