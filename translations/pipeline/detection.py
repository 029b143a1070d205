"""Find speech balloons (YOLO-seg) and text lines (PP-OCR DB) on a page, in page pixel coordinates."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pyclipper

from translations.pipeline.contracts import Balloon, Box, Detection, TextLine
from translations.pipeline.registry import model_path, onnx_session, pipeline_settings

BALLOON_MODEL = "manga-bubble-seg"
LINE_MODEL = "ppocr-v6-det-small"
BASELINE_LINE_MIN_SIDE = 960  # the line input before issue 13: pages upscaled to a 960 px short side


@dataclass(frozen=True)
class BalloonSettings:
    size: int = 1600  # the segmenter's fixed square input
    score: float = 0.35
    nms_iou: float = 0.5
    mask_threshold: float = 0.5


class BalloonSegmenter:
    """YOLO11n-seg balloons: box + score + 32 mask coefficients per anchor, masks from shared prototypes."""

    def __init__(self, model_path: Path, settings: BalloonSettings | None = None) -> None:
        self.model_path = Path(model_path)
        self.settings = settings or BalloonSettings()

    def blob(self, image: np.ndarray) -> tuple[np.ndarray, float, int, int]:
        """The model's input for a page: (letterboxed float blob, scale, x padding, y padding)."""
        s = self.settings
        h, w = image.shape[:2]
        scale = s.size / max(h, w)
        nw, nh = round(w * scale), round(h * scale)
        padx, pady = (s.size - nw) // 2, (s.size - nh) // 2
        resized = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR)
        # Written channel by channel into the model's layout: the same float32 values as converting a uint8 canvas
        # (letterbox grey 114, as Ultralytics) and dividing by 255, without 1600×1600 temporaries.
        blob = np.empty((1, 3, s.size, s.size), np.float32)
        blob.fill(np.float32(114) / np.float32(255))
        for channel in range(3):
            np.divide(resized[:, :, channel], np.float32(255), out=blob[0, channel, pady : pady + nh, padx : padx + nw])
        return blob, scale, padx, pady

    def segment(self, image: np.ndarray) -> tuple[Balloon, ...]:
        s = self.settings
        h, w = image.shape[:2]
        blob, scale, padx, pady = self.blob(image)
        preds, protos = onnx_session(self.model_path).run(None, {"images": blob})
        preds = preds[0].T  # (anchors, 4 + 1 + 32)
        keep = preds[:, 4] >= s.score
        preds = preds[keep]
        if not len(preds):
            return ()
        cx, cy, bw, bh = preds[:, 0], preds[:, 1], preds[:, 2], preds[:, 3]
        rects = np.stack([cx - bw / 2, cy - bh / 2, bw, bh], axis=1)
        chosen = cv2.dnn.NMSBoxes(rects.tolist(), preds[:, 4].tolist(), s.score, s.nms_iou)
        protos = protos[0]
        _, ph, pw = protos.shape
        stride = s.size / pw
        k = scale / stride
        balloons = []
        for i in np.asarray(chosen).reshape(-1):
            x0, y0, rw, rh = rects[i]
            page_x0 = max(int(np.floor((x0 - padx) / scale)), 0)
            page_y0 = max(int(np.floor((y0 - pady) / scale)), 0)
            page_x1 = min(int(np.ceil((x0 + rw - padx) / scale)), w)
            page_y1 = min(int(np.ceil((y0 + rh - pady) / scale)), h)
            if page_x1 - page_x0 < 4 or page_y1 - page_y0 < 4:
                continue
            box = Box(page_x0, page_y0, page_x1 - page_x0, page_y1 - page_y0)
            # Page pixel centre (u + 0.5) → letterboxed input → prototype cell centre coordinates.
            m = np.array(
                [
                    [k, 0, ((box.x + 0.5) * scale + padx) / stride - 0.5],
                    [0, k, ((box.y + 0.5) * scale + pady) / stride - 0.5],
                ],
                np.float32,
            )
            # The mask logits of the prototype cells the box samples (2 cells of margin for the bilinear
            # neighbours), not of the whole 400×400 map: the crop's offset is a whole number of cells, so the
            # warp reads the same cells with the same weights.
            cx0 = max(int(np.floor(m[0, 2])) - 2, 0)
            cy0 = max(int(np.floor(m[1, 2])) - 2, 0)
            cx1 = min(int(np.ceil(m[0, 2] + k * box.w)) + 3, pw)
            cy1 = min(int(np.ceil(m[1, 2] + k * box.h)) + 3, ph)
            if cx1 <= cx0 or cy1 <= cy0:
                continue
            cells = protos[:, cy0:cy1, cx0:cx1]
            proto_mask = np.tensordot(preds[i, 5:], cells, axes=1).astype(np.float32)
            m[0, 2] -= cx0
            m[1, 2] -= cy0
            # Outside the crop only when outside the map: the border value stands for "no balloon" as before.
            local = cv2.warpAffine(
                proto_mask, m, (box.w, box.h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderValue=-10.0
            )
            mask = local > np.log(s.mask_threshold / (1 - s.mask_threshold))  # threshold before the sigmoid
            if mask.sum() < 16:
                continue
            balloons.append(Balloon(box=box, mask=mask, score=float(preds[i, 4])))
        return tuple(balloons)


@dataclass(frozen=True)
class LineSettings:
    min_side: int = 0  # upscale pages whose short side is below this; 0: read every page at its own scale
    max_side: int = 2400
    threshold: float = 0.3
    box_threshold: float = 0.5
    unclip_ratio: float = 1.5
    min_size: int = 3


class LineDetector:
    """PP-OCR DB text detection: a probability map, thresholded, each blob unclipped into a quadrilateral."""

    def __init__(self, model_path: Path, settings: LineSettings | None = None) -> None:
        self.model_path = Path(model_path)
        self.settings = settings or LineSettings()

    def blob(self, image: np.ndarray) -> np.ndarray:
        """The model's input for a page: resized so the short side is about `min_side`, sides multiples of 32."""
        s = self.settings
        h, w = image.shape[:2]
        ratio = max(s.min_side / min(h, w), 1.0)
        ratio = min(ratio, s.max_side / max(h, w)) if max(h, w) * ratio > s.max_side else ratio
        nh, nw = max(32, round(h * ratio / 32) * 32), max(32, round(w * ratio / 32) * 32)
        resized = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR)
        # (x / 255 - 0.5) / 0.5 in float32, written channel by channel into the model's layout; PaddleOCR reads BGR.
        blob = np.empty((1, 3, nh, nw), np.float32)
        for channel in range(3):
            plane = blob[0, channel]
            np.divide(resized[:, :, 2 - channel], np.float32(255), out=plane)
            np.subtract(plane, np.float32(0.5), out=plane)
            np.divide(plane, np.float32(0.5), out=plane)
        return blob

    def probability_map(self, image: np.ndarray) -> tuple[np.ndarray, float, float]:
        h, w = image.shape[:2]
        blob = self.blob(image)
        nh, nw = blob.shape[2:]
        pred = onnx_session(self.model_path).run(None, {"x": blob})[0][0, 0]
        return pred, nw / w, nh / h

    def detect(self, image: np.ndarray) -> tuple[TextLine, ...]:
        s = self.settings
        h, w = image.shape[:2]
        pred, sx, sy = self.probability_map(image)
        bitmap = cv2.dilate((pred > s.threshold).astype(np.uint8), np.ones((2, 2), np.uint8))
        contours, _ = cv2.findContours(bitmap, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        lines = []
        for contour in contours:
            if len(contour) < 3:
                continue
            rect = cv2.minAreaRect(contour)
            if min(rect[1]) < s.min_size:
                continue
            if _mean_score(pred, contour) < s.box_threshold:
                continue
            expanded = _unclip(contour.reshape(-1, 2), s.unclip_ratio)
            if expanded is None:
                continue
            rect = cv2.minAreaRect(expanded)
            if min(rect[1]) < s.min_size + 2:
                continue
            quad = cv2.boxPoints(rect) / np.array([sx, sy], np.float32)
            quad[:, 0] = quad[:, 0].clip(0, w)
            quad[:, 1] = quad[:, 1].clip(0, h)
            box = Box.around(quad)
            if box.w < 2 or box.h < 2:
                continue
            polygon = tuple((round(float(x)), round(float(y))) for x, y in _order_quad(quad))
            lines.append(TextLine(box=box, polygon=polygon, vertical=box.h > box.w))
        return tuple(lines)


def _mean_score(pred: np.ndarray, contour: np.ndarray) -> float:
    x, y, w, h = cv2.boundingRect(contour)
    mask = np.zeros((h, w), np.uint8)
    cv2.fillPoly(mask, [contour.reshape(-1, 2) - [x, y]], 1)
    return float(cv2.mean(pred[y : y + h, x : x + w], mask)[0])


def _unclip(points: np.ndarray, ratio: float) -> np.ndarray | None:
    poly = points.astype(np.float64)
    area = abs(cv2.contourArea(poly.astype(np.float32)))
    length = cv2.arcLength(poly.astype(np.float32), True)
    if length == 0:
        return None
    offset = pyclipper.PyclipperOffset()
    offset.AddPath(poly.astype(np.int64).tolist(), pyclipper.JT_ROUND, pyclipper.ET_CLOSEDPOLYGON)
    grown = offset.Execute(area * ratio / length)
    if not grown:
        return None
    return np.array(max(grown, key=len), np.float32).reshape(-1, 2)


def _order_quad(quad: np.ndarray) -> np.ndarray:
    """Top-left, top-right, bottom-right, bottom-left."""
    s, d = quad.sum(axis=1), np.diff(quad, axis=1).ravel()
    return np.array([quad[s.argmin()], quad[d.argmin()], quad[s.argmax()], quad[d.argmax()]])


class OnnxDetector:
    """contracts.Detector: balloons and lines from the registry's models in `model_dir`.

    With the current settings the INT8 copies (`manage.py models quantize`) are used where present and the line
    detector reads the page at its own scale; `MANGA_PIPELINE_SETTINGS=baseline` keeps the fp32 weights and the
    upscaled line input the pipeline had before, for side-by-side benchmarks.
    """

    def __init__(self, model_dir: Path | str) -> None:
        baseline = pipeline_settings() == "baseline"
        self.balloons = BalloonSegmenter(model_path(BALLOON_MODEL, model_dir, int8=not baseline))
        line_settings = LineSettings(min_side=BASELINE_LINE_MIN_SIDE) if baseline else LineSettings()
        self.lines = LineDetector(model_path(LINE_MODEL, model_dir, int8=not baseline), line_settings)

    def detect(self, image: np.ndarray) -> Detection:
        balloons = self.balloons.segment(image)
        lines = drop_furigana(self.lines.detect(image))
        lines = tuple(extend_column(image, line) if line.vertical else line for line in lines)
        return Detection(balloons=balloons, lines=lines + lines_in_empty_balloons(image, balloons, lines))


def drop_furigana(lines: tuple[TextLine, ...]) -> tuple[TextLine, ...]:
    """Without the reading aids: thin columns (rows) hugging a column (row) at least ~1.7× as thick."""
    kept = []
    for line in lines:
        thick = line.box.w if line.vertical else line.box.h
        ruby = False
        for other in lines:
            if other is line or other.vertical != line.vertical:
                continue
            other_thick = other.box.w if other.vertical else other.box.h
            if thick * 1.7 > other_thick:
                continue
            if line.vertical:
                gap = max(line.box.x - other.box.right, other.box.x - line.box.right)
                overlap = min(line.box.bottom, other.box.bottom) - max(line.box.y, other.box.y)
                along = line.box.h
            else:
                gap = max(line.box.y - other.box.bottom, other.box.y - line.box.bottom)
                overlap = min(line.box.right, other.box.right) - max(line.box.x, other.box.x)
                along = line.box.w
            if gap <= 0.5 * thick and overlap >= 0.6 * along:
                ruby = True
                break
        if not ruby:
            kept.append(line)
    return tuple(kept)


def ink_mask(gray: np.ndarray) -> np.ndarray:
    """Dark-on-light ink as bool, by Otsu; light-on-dark text is inverted first (ink is the minority)."""
    _, ink = cv2.threshold(gray, 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    return (ink if ink.mean() <= 0.5 else 1 - ink).astype(bool)


def extend_column(image: np.ndarray, line: TextLine) -> TextLine:
    """Grow a column down over a trailing dash (――), which DB detection leaves out of the box.

    The dash is a thin bar on the column's axis; it is taken only when nothing wider follows, so art is left alone.
    """
    h = image.shape[0]
    box = line.box
    size = box.w
    y0, y1 = box.bottom, min(box.bottom + 3 * size, h)
    if y1 - y0 < size // 2:
        return line
    gray = cv2.cvtColor(image[box.y : y1, box.x : box.right], cv2.COLOR_RGB2GRAY)
    ink = ink_mask(gray)[box.h :]
    axis = box.w / 2
    bar_end, blank = 0, 0
    for row_index, row in enumerate(ink):
        xs = np.flatnonzero(row)
        if not len(xs):
            blank += 1
            if blank > size // 2:
                break
            continue
        if xs[-1] - xs[0] > 0.3 * size or abs((xs[0] + xs[-1]) / 2 - axis) > 0.25 * size:
            if bar_end == 0 and row_index < 0.3 * size:
                continue  # the foot of the last glyph, which the box cut short
            break  # something wider or off-axis: not a dash
        blank = 0
        bar_end = row_index + 1
    if bar_end < 0.6 * size:
        return line
    grown = Box(box.x, box.y, box.w, box.h + bar_end + 2)
    polygon = ((grown.x, grown.y), (grown.right, grown.y), (grown.right, grown.bottom), (grown.x, grown.bottom))
    return TextLine(box=grown, polygon=polygon, vertical=True)


def lines_in_empty_balloons(
    image: np.ndarray, balloons: tuple[Balloon, ...], lines: tuple[TextLine, ...]
) -> tuple[TextLine, ...]:
    """A line around the ink of each balloon that DB found nothing in (lone `!`, `……`, tiny `くっ…`)."""
    found = []
    for balloon in balloons:
        b = balloon.box
        if any(b.intersection(line.box) >= 0.5 * line.box.area for line in lines):
            continue
        margin = max(3, round(0.08 * min(b.w, b.h)))
        inner = cv2.erode(balloon.mask.astype(np.uint8), np.ones((2 * margin + 1, 2 * margin + 1), np.uint8))
        if inner.sum() < 64:
            continue
        gray = cv2.cvtColor(image[b.y : b.bottom, b.x : b.right], cv2.COLOR_RGB2GRAY)
        if np.median(gray[inner > 0]) < 128:
            continue  # a dark balloon: its text would be light, rare enough to leave to the detector
        count, labels, stats, _ = cv2.connectedComponentsWithStats((gray < 128).astype(np.uint8))
        # Glyphs lie wholly inside the balloon; the outline and the art around it reach outside the inner mask.
        outside = np.unique(labels[(inner == 0) & (labels > 0)])
        keep = [i for i in range(1, count) if stats[i, cv2.CC_STAT_AREA] >= 2 and i not in set(outside.tolist())]
        if not keep or sum(stats[i, cv2.CC_STAT_AREA] for i in keep) > 0.3 * inner.sum():
            continue
        x0 = int(min(stats[i, cv2.CC_STAT_LEFT] for i in keep))
        y0 = int(min(stats[i, cv2.CC_STAT_TOP] for i in keep))
        x1 = int(max(stats[i, cv2.CC_STAT_LEFT] + stats[i, cv2.CC_STAT_WIDTH] for i in keep))
        y1 = int(max(stats[i, cv2.CC_STAT_TOP] + stats[i, cv2.CC_STAT_HEIGHT] for i in keep))
        if max(x1 - x0, y1 - y0) < 6:
            continue
        box = Box(b.x + x0 - 2, b.y + y0 - 2, x1 - x0 + 4, y1 - y0 + 4)
        polygon = ((box.x, box.y), (box.right, box.y), (box.right, box.bottom), (box.x, box.bottom))
        found.append(TextLine(box=box, polygon=polygon, vertical=box.h >= box.w))
    return tuple(found)
