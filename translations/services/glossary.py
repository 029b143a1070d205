"""A manga's learned glossary: the translator proposes terms, staff accept, edit or reject them, JSON in and out.

Accepted terms travel to the translator with each page (`manga_learned_glossary`, merged over the manga's
`dict/glossaries/<slug>.json`); proposals and rejected terms never do. Import and export use the `dict/`
glossary format (dict/README.md), so a file written by hand and the database's part are interchangeable.
"""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction

from translations.models import GlossaryTerm, Manga
from translations.pipeline.translators.dictionaries import DictionaryError, Glossary
from translations.selectors import manga_learned_glossary
from translations.services.audit import audit_record

logger = logging.getLogger(__name__)

Status = GlossaryTerm.Status
MAX_FIELD = {"source": 200, "target": 200, "notes": 300}


def glossary_propose(*, manga_id: int, proposals: list[dict], page_id: int | None = None) -> int:
    """Store the translator's new terms as proposals; a source the manga already has (in any status) is skipped,
    so a rejected term stays rejected. Returns how many were added."""
    added = 0
    for item in proposals:
        source, target = str(item.get("source", "")).strip(), str(item.get("target", "")).strip()
        if not source or not target or len(source) > MAX_FIELD["source"] or len(target) > MAX_FIELD["target"]:
            continue
        kind = item.get("kind") if item.get("kind") in GlossaryTerm.Kind.values else GlossaryTerm.Kind.TERM
        try:
            with transaction.atomic():
                defaults = {"target": target, "kind": kind, "proposed_on_id": page_id}
                _, created = GlossaryTerm.objects.get_or_create(manga_id=manga_id, source=source, defaults=defaults)
        except IntegrityError:  # another worker proposed the same source at the same moment
            continue
        added += created
    if added:
        logger.info("glossary manga=%s proposals_added=%d", manga_id, added)
    return added


def glossary_decide(*, term_ids: list[int], status: str, actor=None) -> int:
    """Accept or reject terms (or send them back to proposed); returns how many changed."""
    if status not in Status.values:
        raise ValueError(f"unknown glossary status {status!r}")
    terms = list(GlossaryTerm.objects.filter(pk__in=term_ids).exclude(status=status).select_related("manga"))
    for term in terms:
        term.status = status
        term.save(update_fields=["status", "updated_at"])
        audit_record(actor=actor, action=f"glossary.{status}", obj=term, message=f"{term.source} → {term.target}")
    return len(terms)


def glossary_export(*, manga: Manga) -> dict:
    return {"title": manga.title, "source_language": manga.source_language, **manga_learned_glossary(manga_id=manga.pk)}


def glossary_import(*, manga: Manga, data: object, actor=None) -> dict[str, int]:
    """Characters and terms of a `dict/` glossary become accepted terms (an existing source is updated).

    The file is validated whole before anything is written: a bad file changes nothing. Title, honorifics and
    style stay in the manga's file under `dict/glossaries/`.
    """
    glossary = Glossary.from_dict(data, name=f"glossary for {manga.slug}")
    entries = [(GlossaryTerm.Kind.CHARACTER, t) for t in glossary.characters]
    entries += [(GlossaryTerm.Kind.TERM, t) for t in glossary.terms]
    for _, term in entries:
        for name, limit in MAX_FIELD.items():
            if len(getattr(term, name)) > limit:
                raise DictionaryError(f"glossary for {manga.slug}: {term.source!r}: {name} is over {limit} characters")
    created = updated = 0
    with transaction.atomic():
        for kind, term in entries:
            _, was_created = GlossaryTerm.objects.update_or_create(
                manga=manga,
                source=term.source.strip(),
                defaults={"target": term.target.strip(), "kind": kind, "notes": term.notes, "status": Status.ACCEPTED},
            )
            created += was_created
            updated += not was_created
        audit_record(
            actor=actor,
            action="glossary.import",
            obj=manga,
            message=f"{created} added, {updated} updated",
            details={"created": created, "updated": updated},
        )
    return {"created": created, "updated": updated}
