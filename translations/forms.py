"""Forms of the reader site's staff actions and first-run setup; labels are marked for translation."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib.auth.forms import BaseUserCreationForm
from django.utils.translation import gettext_lazy as _

from translations.models import SOURCE_LANGUAGES, Language, Translator
from translations.pipeline.languages import TARGET_LANGUAGES
from translations.services.jobs import default_translator


def target_language_choices() -> list[tuple[str, str]]:
    labels = dict(Language.choices)
    return [(code, labels.get(code, code)) for code in TARGET_LANGUAGES]


class TranslateForm(forms.Form):
    target_language = forms.ChoiceField(label=_("Into"), choices=target_language_choices)
    translator = forms.ChoiceField(label=_("Translator"), choices=Translator.choices)

    @classmethod
    def for_manga(cls, manga) -> TranslateForm:
        return cls(initial={"target_language": manga.target_language, "translator": default_translator()})


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field (Django's documented pattern); the upload service checks each one."""

    widget = MultipleFileInput

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)] if data else single(data, initial)


class UploadForm(forms.Form):
    number = forms.DecimalField(
        label=_("Chapter number"), min_value=Decimal(0), max_value=Decimal("999999.99"), decimal_places=2
    )
    title = forms.CharField(label=_("Chapter title"), max_length=300, required=False)
    files = MultipleFileField(  # type: ignore[assignment]
        label=_("Pages"),
        help_text=_("Page images (JPEG, PNG, WebP, GIF), or one .zip or .cbz"),
        widget=MultipleFileInput(attrs={"accept": "image/jpeg,image/png,image/webp,image/gif,.zip,.cbz"}),
    )


class SetupForm(BaseUserCreationForm):
    """The first staff account: a username and a password checked by the configured validators."""


class NewMangaUploadForm(UploadForm):
    """The library's upload: the first chapter of a manga that may not exist yet."""

    manga_title = forms.CharField(label=_("Manga title"), max_length=300)
    source_language = forms.ChoiceField(
        label=_("Written in"), choices=[(lang.value, lang.label) for lang in SOURCE_LANGUAGES]
    )
    target_language = forms.ChoiceField(label=_("Translate into"), choices=target_language_choices)

    field_order = ["manga_title", "source_language", "target_language", "number", "title", "files"]
