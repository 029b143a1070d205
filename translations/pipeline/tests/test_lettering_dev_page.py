"""End to end: a real dev page (two blocks in one joined balloon mask) lettered with its professional English
through the whole pipeline, and no two regions' lettering overlap. Skips without the shared evaluation set."""

from __future__ import annotations

import pytest

from translations.pipeline import registry
from translations.pipeline.factory import build_pipeline
from translations.pipeline.lettering_evaluation import FLOOR_SHARE, letter_page, load_references
from translations.pipeline.tests.paths import EVALSET as EVALSET_ROOT
from translations.pipeline.tests.paths import model_dir

EVALSET = EVALSET_ROOT / "dev"
MODELS = model_dir()
PAGE = "openmantra_boureisougi_004.json"  # its top-right balloons come back from the segmenter as one mask


@pytest.fixture(scope="module")
def pipeline():
    if not (EVALSET / PAGE).is_file():
        pytest.skip(f"the shared evaluation set is not here ({EVALSET}; set MANGA_EVALSET_DIR)")
    missing = [
        spec.name
        for spec in registry.default_manifest().values()
        if not spec.optional and registry.state_of(spec, MODELS) is not registry.ModelState.PRESENT
    ]
    if missing:
        pytest.skip(f"models not fetched ({', '.join(missing)}): run `python manage.py models fetch`")
    return build_pipeline(MODELS)


def test_a_dev_page_lettered_with_its_references_has_no_collision(pipeline):
    image_name, language, references = load_references(EVALSET / PAGE)
    page, image = letter_page(pipeline, EVALSET / image_name, language, references)
    report = page.report
    assert page.lettered >= 9  # every balloon with a reference got its English
    assert report.collisions == 0
    drawn = [region for region in report.regions if region.letter_box is not None]
    assert not any("collision" in region.flags for region in drawn)
    for i, a in enumerate(drawn):
        for b in drawn[i + 1 :]:
            ax, ay, aw, ah = a.letter_box
            bx, by, bw, bh = b.letter_box
            assert min(ax + aw, bx + bw) <= max(ax, bx) or min(ay + ah, by + bh) <= max(ay, by), (a.id, b.id)
    # "Postmortem care," and "we call it" share one mask: each is lettered in its own half of it.
    first, second = (next(r for r in drawn if r.translation and text in r.translation) for text in ("Post", "call"))
    assert first.letter_box[1] + first.letter_box[3] <= second.letter_box[1]
    assert all(region.font_size >= round(FLOOR_SHARE * report.width) for region in drawn)
    assert image[:3] == b"\xff\xd8\xff"  # the lettered page, encoded as its JPEG input was
