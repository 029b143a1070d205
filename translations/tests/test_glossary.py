"""The series glossary that learns: proposals from the translator, staff decisions, prompts, import and export."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from compute_service.tests.serving import models_missing
from translations.models import AuditEntry, GlossaryTerm, Manga
from translations.pipeline.translators.dictionaries import DictionaryError, Glossary
from translations.selectors import manga_learned_glossary
from translations.services.execution import job_run
from translations.services.glossary import glossary_decide, glossary_export, glossary_import, glossary_propose
from translations.services.imports import chapter_import
from translations.services.jobs import chapter_request_translation
from translations.testing.chat_server import ChatServer
from translations.tests.job_helpers import make_staff

DEMO = Path(settings.BASE_DIR) / "demo" / "wikipe-tan"

pytestmark = pytest.mark.django_db


@pytest.fixture
def manga() -> Manga:
    return Manga.objects.create(slug="harbor-days", title="Harbor Days")


@pytest.fixture
def llm(settings):
    with ChatServer() as server:
        settings.MANGA_LLM_BASE_URL = server.url
        settings.MANGA_LLM_MODEL = "qwen2.5vl:7b"
        settings.MANGA_LLM_VISION = "off"
        yield server


@pytest.mark.django_db(transaction=True)
def test_a_term_proposed_on_one_page_and_accepted_is_in_later_prompts_and_a_rejected_one_never(llm):
    if reason := models_missing():
        pytest.skip(reason)
    first = chapter_import(source=DEMO, manga_title="Wikipe-tan", chapter_number=Decimal(1)).chapter
    llm.script("terms:係船柱=mooring bollard;港=harbour")
    job = chapter_request_translation(chapter=first, target_language="en", translator="openai_compat", enqueue=False)
    job_run(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == "success"
    proposed = {t.source: (t.target, t.status, t.proposed_on.index) for t in GlossaryTerm.objects.all()}
    assert proposed == {"係船柱": ("mooring bollard", "proposed", 1), "港": ("harbour", "proposed", 1)}
    page_2_prompt = llm.requests[-1].text
    assert "係船柱 →" not in page_2_prompt  # a proposal is not in any prompt until staff accept it

    bollard, harbour = GlossaryTerm.objects.get(source="係船柱"), GlossaryTerm.objects.get(source="港")
    glossary_decide(term_ids=[bollard.pk], status="accepted")
    glossary_decide(term_ids=[harbour.pk], status="rejected")
    llm.script("terms:港=the harbour")  # proposed again on a later page: stays rejected
    second = chapter_import(source=DEMO, manga_title="Wikipe-tan", chapter_number=Decimal(2)).chapter
    later = chapter_request_translation(chapter=second, target_language="en", translator="openai_compat", enqueue=False)
    sent_before = len(llm.requests)
    job_run(job_id=later.pk)

    later_prompts = [request.text for request in llm.requests[sent_before:]]
    assert len(later_prompts) == 2
    for prompt in later_prompts:
        assert "Terms (use these translations consistently):\n- 係船柱 → mooring bollard" in prompt
        assert "港 →" not in prompt
    assert GlossaryTerm.objects.get(source="港").status == "rejected"
    assert GlossaryTerm.objects.get(source="港").target == "harbour"


def test_proposals_skip_known_sources_and_bad_items(manga):
    GlossaryTerm.objects.create(manga=manga, source="港", target="port", status="rejected")
    proposals = [
        {"source": "港", "target": "harbour", "kind": "term"},
        {"source": "ウィキペたん", "target": "Wikipe-tan", "kind": "character"},
        {"source": "ウィキペたん", "target": "Wiki", "kind": "character"},
        {"source": " ", "target": "blank"},
        {"source": "x" * 201, "target": "too long"},
        {"source": "係船柱", "target": "bollard", "kind": "spell"},
    ]
    assert glossary_propose(manga_id=manga.pk, proposals=proposals) == 2

    terms = {t.source: (t.target, t.kind, t.status) for t in GlossaryTerm.objects.filter(manga=manga)}
    assert terms == {
        "港": ("port", "term", "rejected"),
        "ウィキペたん": ("Wikipe-tan", "character", "proposed"),
        "係船柱": ("bollard", "term", "proposed"),
    }


def test_only_accepted_terms_leave_the_database(manga):
    GlossaryTerm.objects.create(manga=manga, source="港", target="port", status="accepted", notes="the town's")
    GlossaryTerm.objects.create(
        manga=manga, source="ウィキペたん", target="Wikipe-tan", kind="character", status="accepted"
    )
    GlossaryTerm.objects.create(manga=manga, source="鉄", target="iron", status="proposed")
    GlossaryTerm.objects.create(manga=manga, source="船", target="ship", status="rejected")

    learned = manga_learned_glossary(manga_id=manga.pk)
    assert learned == {
        "characters": [{"source": "ウィキペたん", "target": "Wikipe-tan"}],
        "terms": [{"source": "港", "target": "port", "notes": "the town's"}],
    }
    glossary = Glossary.from_dict(learned)
    assert "- 港 → port (the town's)" in glossary.prompt_text()
    assert "鉄" not in glossary.prompt_text() and "船" not in glossary.prompt_text()


def test_export_then_import_round_trips_in_the_dict_format(manga, tmp_path):
    GlossaryTerm.objects.create(manga=manga, source="港", target="port", status="accepted")
    exported = glossary_export(manga=manga)
    Glossary.from_dict(exported)  # the dict/ format: the file loader takes it as it is
    other = Manga.objects.create(slug="other", title="Other")

    counts = glossary_import(manga=other, data=exported)

    assert counts == {"created": 1, "updated": 0}
    assert manga_learned_glossary(manga_id=other.pk) == manga_learned_glossary(manga_id=manga.pk)
    assert AuditEntry.objects.filter(action="glossary.import", object_id=str(other.pk)).exists()


def test_import_updates_and_accepts_and_a_bad_file_changes_nothing(manga):
    GlossaryTerm.objects.create(manga=manga, source="港", target="harbour", status="proposed")
    glossary_import(manga=manga, data={"terms": [{"source": "港", "target": "port"}]})
    assert GlossaryTerm.objects.get(manga=manga, source="港").status == "accepted"
    assert GlossaryTerm.objects.get(manga=manga, source="港").target == "port"

    bad = {"terms": [{"source": "船", "target": "ship"}, {"source": "鉄"}]}
    with pytest.raises(DictionaryError, match=r"terms\[1\] needs a non-empty source and target"):
        glossary_import(manga=manga, data=bad)
    with pytest.raises(DictionaryError, match="unknown field"):
        glossary_import(manga=manga, data={"term": []})
    assert not GlossaryTerm.objects.filter(source="船").exists()


def test_the_command_exports_and_imports(manga, tmp_path, capsys):
    path = tmp_path / "in.json"
    path.write_text(json.dumps({"characters": [{"source": "ウィキペたん", "target": "Wikipe-tan"}]}), encoding="utf-8")
    call_command("glossary", "import", "harbor-days", str(path))
    call_command("glossary", "export", "harbor-days")

    out = capsys.readouterr().out
    assert "1 term(s) added, 0 updated" in out
    exported = json.loads(out[out.index("{") :])
    assert exported["characters"] == [{"source": "ウィキペたん", "target": "Wikipe-tan"}]
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(CommandError, match="invalid JSON"):
        call_command("glossary", "import", "harbor-days", str(path))
    with pytest.raises(CommandError, match="no manga"):
        call_command("glossary", "export", "nope")


def test_staff_accept_and_reject_in_admin_and_it_is_audited(manga, client):
    staff = make_staff()
    staff.is_superuser = True
    staff.save()
    client.force_login(staff)
    kept = GlossaryTerm.objects.create(manga=manga, source="港", target="harbour")
    dropped = GlossaryTerm.objects.create(manga=manga, source="鉄", target="iron")
    url = reverse("admin:translations_glossaryterm_changelist")

    client.post(url, {"action": "accept_terms", "_selected_action": [kept.pk]})
    client.post(url, {"action": "reject_terms", "_selected_action": [dropped.pk]})

    assert GlossaryTerm.objects.get(pk=kept.pk).status == "accepted"
    assert GlossaryTerm.objects.get(pk=dropped.pk).status == "rejected"
    # The sign-in is audited too (translations/audit_signals.py); this test is about the glossary's entries.
    actions = set(AuditEntry.objects.exclude(action="auth.sign_in").values_list("action", "actor__username"))
    assert actions == {("glossary.accepted", "staff"), ("glossary.rejected", "staff")}
    export = client.post(
        reverse("admin:translations_manga_changelist"), {"action": "export_glossary", "_selected_action": [manga.pk]}
    )
    assert export["Content-Disposition"] == 'attachment; filename="harbor-days.json"'
    assert json.loads(export.content)["terms"] == [{"source": "港", "target": "harbour"}]
