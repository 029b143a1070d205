"""The evaluator's rules (issue 3) on hand-made boxes; the command is tested in translations/tests."""

from __future__ import annotations

from translations.pipeline import evaluation
from translations.pipeline.contracts import Box, Flag, TextBlock, TextLine
from translations.pipeline.evaluation import (
    TruthBox,
    box_found,
    edit_distance,
    match_one_to_one,
    normalise,
    pairs_in_order,
    score_page,
)


def block(box: Box, *texts: str, flags: frozenset[Flag] = frozenset(), lines: list[Box] | None = None) -> TextBlock:
    boxes = lines or [box] * len(texts)
    made = tuple(
        TextLine(b, ((b.x, b.y), (b.right, b.y), (b.right, b.bottom), (b.x, b.bottom)), True, text=t, confidence=0.9)
        for b, t in zip(boxes, texts, strict=True)
    )
    return TextBlock(id=1, box=box, lines=made, vertical=True, flags=flags)


def test_a_block_covering_half_a_truth_box_finds_it():
    truth = Box(0, 0, 100, 100)
    assert box_found(truth, Box(0, 0, 50, 400))  # covers 50 %; IoU 0.2, and only 25 % of it is inside
    assert not box_found(truth, Box(0, 0, 45, 400))  # covers 45 %


def test_a_block_overlapping_with_iou_0_3_finds_it():
    truth = Box(0, 0, 100, 100)
    assert box_found(truth, Box(52, 0, 100, 100))  # covers 48 %, 48 % inside, IoU 48 / 152 = 0.316
    assert not box_found(truth, Box(55, 0, 100, 100))  # covers 45 %, IoU 45 / 155 = 0.29


def test_a_tight_block_inside_a_generous_truth_box_finds_it():
    truth = Box(0, 0, 100, 100)
    assert box_found(truth, Box(30, 30, 20, 60))  # wholly inside, 12 % of its area
    assert not box_found(truth, Box(30, 30, 10, 50))  # wholly inside but only 5 %
    assert box_found(truth, Box(80, 20, 40, 40))  # 50 % inside, 16 % of the area
    assert not box_found(truth, Box(90, 20, 40, 40))  # 25 % inside


def test_precision_matches_blocks_one_to_one():
    truths = [Box(0, 0, 100, 100), Box(200, 0, 100, 100)]
    predicted = [Box(0, 0, 100, 100), Box(10, 0, 90, 100), Box(500, 500, 10, 10)]
    assert match_one_to_one(truths, predicted) == 1  # two blocks on one truth box count once
    assert match_one_to_one(truths, [Box(0, 0, 100, 100), Box(200, 0, 100, 100)]) == 2


def test_normalise_folds_width_whitespace_and_dot_runs():
    assert normalise("え っ　はい…そう！？") == "えっはい...そう!?"
    assert normalise("くっ‥") == normalise("くっ・・・") == normalise("くっ......") == "くっ..."
    assert normalise("Ａ・Ｂ") == "A・B"  # one middle dot is a character, not an ellipsis


def test_edit_distance():
    assert edit_distance("こんにちは", "こんにちは") == 0
    assert edit_distance("こんにちわ", "こんにちは") == 1
    assert edit_distance("", "abc") == 3


def test_a_missed_box_counts_all_its_characters_wrong():
    truths = [TruthBox(Box(0, 0, 100, 100), "あいう"), TruthBox(Box(300, 0, 100, 100), "かきく…")]
    blocks = [block(Box(10, 10, 80, 80), "あいえ")]

    results, matched = score_page(truths, blocks)

    assert [(r.found, r.read, r.errors) for r in results] == [(True, "あいえ", 1), (False, "", 6)]
    assert matched == 1


def test_a_truth_box_reads_its_lines_in_block_order_and_sfx_blocks_do_not_count():
    truths = [TruthBox(Box(0, 0, 100, 100), "みぎひだり"), TruthBox(Box(300, 0, 100, 100), "ドン")]
    columns = [Box(60, 10, 20, 80), Box(20, 10, 20, 80)]
    blocks = [
        block(Box(20, 10, 60, 80), "みぎ", "ひだり", lines=columns),
        block(Box(300, 0, 100, 100), "ドン", flags=frozenset({Flag.SFX})),
    ]

    results, matched = score_page(truths, blocks)

    assert [(r.read, r.exact) for r in results] == [("みぎひだり", True), ("", False)]
    assert results[1].errors == 2
    assert matched == 1
    assert len(evaluation.counted(blocks)) == 1


def test_the_summary_is_micro_over_boxes_and_characters():
    truths = [TruthBox(Box(0, 0, 100, 100), "ab"), TruthBox(Box(300, 0, 100, 100), "cdefgh")]
    results, matched = score_page(truths, [block(Box(300, 0, 100, 100), "cdefgx")])
    page = evaluation.PageResult(
        image="p.png", boxes=results, predicted=1, matched=matched, sfx_blocks=0, overflow_regions=0,
        seconds=1.0, peak_rss_mb=100.0,
    )  # fmt: skip

    figures = evaluation.summary([page])

    assert figures["recall"] == 0.5
    assert figures["precision"] == 1.0
    assert figures["cer"] == round(3 / 8, 4)  # 2 for the missed box, 1 substitution
    assert figures["exact_share"] == 0.0
    assert set(figures) == {
        "pages", "recall", "precision", "cer", "exact_share", "order_accuracy", "overflow_regions", "seconds_median",
        "peak_rss_mb",
    }  # fmt: skip
    assert figures["order_accuracy"] is None  # one found box: no pair to order


def test_order_pairs_count_consecutive_found_boxes_and_ties_are_in_order():
    assert pairs_in_order([0, 1, 2]) == (2, 2)
    assert pairs_in_order([0, 2, 1, 3]) == (2, 3)  # one block out of place: two jumps, one of them back
    assert pairs_in_order([0, None, 1]) == (1, 1)  # a missed box is skipped, its neighbours make the pair
    assert pairs_in_order([1, 1, 0]) == (1, 2)  # two boxes in one block share its position
    assert pairs_in_order([None, 4]) == pairs_in_order([]) == (0, 0)


def page_of(truths: list[TruthBox], blocks: list[TextBlock]) -> evaluation.PageResult:
    results, matched = score_page(truths, blocks)
    return evaluation.PageResult(
        image="p.png", boxes=results, predicted=len(evaluation.counted(blocks)), matched=matched, sfx_blocks=0,
        overflow_regions=0, seconds=1.0, peak_rss_mb=100.0,
    )  # fmt: skip


def test_each_found_box_takes_the_position_of_the_block_holding_most_of_it():
    truths = [
        TruthBox(Box(700, 0, 100, 200), "いち"),
        TruthBox(Box(500, 0, 100, 200), "に"),
        TruthBox(Box(300, 0, 100, 90), "さん"),
        TruthBox(Box(300, 110, 100, 90), "し"),
        TruthBox(Box(0, 500, 50, 50), "ご"),
    ]
    blocks = [
        block(Box(100, 300, 50, 50), "ドン", flags=frozenset({Flag.SFX})),  # not counted: no position
        block(Box(700, 0, 100, 200), "いち"),
        block(Box(300, 0, 100, 200), "さんし"),  # one block holding two truth boxes
        block(Box(520, 20, 60, 160), "に"),  # read after the block that follows it
    ]

    page = page_of(truths, blocks)

    assert [b.position for b in page.boxes] == [0, 2, 1, 1, None]
    assert page.order_pairs == (2, 3)  # 0→2 yes, 2→1 no, 1→1 yes (same block); the missed box makes no pair
    assert evaluation.summary([page])["order_accuracy"] == round(2 / 3, 4)


def test_order_accuracy_is_micro_over_the_pairs_of_all_pages():
    truths = [TruthBox(Box(x, 0, 50, 50), "あ") for x in (300, 200, 100, 0)]
    right_to_left = [block(Box(x, 0, 50, 50), "あ") for x in (300, 200, 100, 0)]
    reversed_blocks = right_to_left[::-1]

    figures = evaluation.summary([page_of(truths, right_to_left), page_of(truths, reversed_blocks)])

    assert figures["order_accuracy"] == 0.5  # 3 of 3 pairs, then 0 of 3
