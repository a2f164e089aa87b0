"""Box parsing on written replies of every format and scale, the auto scale rule, and IoU by hand."""

from __future__ import annotations

import pytest

from medtrust.hallucination.boxes import best_iou, choose_scale, find_box, iou, parse_box

BOX = (0.1, 0.2, 0.5, 0.6)


@pytest.mark.parametrize("reply, fmt, size, source, scale", [
    ("[0.1, 0.2, 0.5, 0.6]", "auto", (256, 256), "json", "normalised"),
    ("The star is at (0.1, 0.2, 0.5, 0.6).", "auto", (256, 256), "list", "normalised"),
    ("Box: (25.6, 51.2, 128, 153.6)", "auto", (256, 256), "list", "pixels"),
    ("[100, 200, 500, 600]", "auto", (256, 256), "json", "1000"),  # beyond the image: 0-1000
    ("[64, 128, 320, 384]", "auto", (640, 640), "json", "pixels"),
    ("[100, 200, 500, 600]", "auto", None, "json", "1000"),  # no image size: pixels cannot be told
    ('{"bbox_2d": [100, 200, 500, 600], "label": "circle"}', "1000", (256, 256), "json", "1000"),
    ('Here:\n```json\n[{"bbox_2d": [0.1, 0.2, 0.5, 0.6], "label": "star"}, {"bbox_2d": [0, 0, 1, 1]}]\n```',
     "auto", None, "json", "normalised"),
    ('{"box": [0.1, 0.2, 0.5, 0.6]}', "auto", None, "json", "normalised"),
    ('{"bbox": [0.1, 0.2, 0.5, 0.6], "score": 0.9}', "auto", None, "json", "normalised"),
    ('{"x1": 0.1, "y1": 0.2, "x2": 0.5, "y2": 0.6}', "auto", None, "json", "normalised"),
    ('[{"label": "cat"}, {"xmin": 10, "ymin": 20, "xmax": 50, "ymax": 60}]', "pixels", (100, 100), "json", "pixels"),
    ("{'xmin': 10, 'ymin': 20, 'xmax': 50, 'ymax': 60}", "auto", (100, 100), "keys", "pixels"),
    ("x1=0.1, y1=0.2, x2=0.5, y2=0.6", "auto", None, "keys", "normalised"),
    ("<box>(100,200),(500,600)</box>", "auto", (1024, 1024), "tag", "1000"),  # a tag is 0-1000 even if it fits
    ("The circle<|box_start|>(100, 200), (500, 600)<|box_end|>", "auto", None, "tag", "1000"),
    ("[0.5, 0.6, 0.1, 0.2]", "auto", None, "json", "normalised"),  # corners swapped: put in order
])
def test_every_format_reads_the_same_box(reply, fmt, size, source, scale):
    p = parse_box(reply, fmt, size)
    assert p is not None and p.source == source and p.scale == scale
    assert p.box == pytest.approx(BOX)


@pytest.mark.parametrize("reply", ["There is no triangle in the image.", "", "[0.1, 0.2, 0.3]", "0.1 0.2 0.5 0.6",
                                   "The star is in the upper left (about 10% from the edge).", "[a, b, c, d]"])
def test_replies_without_a_box(reply):
    assert parse_box(reply) is None and find_box(reply) is None


def test_boxes_that_fit_no_scale_or_are_forced_onto_one():
    p = parse_box("[-5, 0, 10, 10]", "auto", (256, 256))
    assert p.scale == "none" and p.box is None and p.raw == (-5.0, 0.0, 10.0, 10.0)
    assert parse_box("[1200, 0, 1300, 10]", "auto", (256, 256)).box is None
    assert parse_box("[100, 200, 500, 600]", "normalised").box == (1.0, 1.0, 1.0, 1.0)  # clipped to the image
    assert parse_box("[0.1, 0.2, 0.5, 0.6]", "1000").box == pytest.approx((1e-4, 2e-4, 5e-4, 6e-4))
    assert parse_box("[10, 20, 50, 60]", "pixels").box is None  # pixels without an image size
    assert parse_box("[10, 20, 50, 60]", "pixels", (100, 200)).box == pytest.approx((0.1, 0.1, 0.5, 0.3))
    assert choose_scale((0, 0, 1, 1), "list") == "normalised"
    assert choose_scale((0, 0, 256, 256), "list", image_size=(256, 256)) == "pixels"
    assert choose_scale((0, 0, 257, 100), "list", image_size=(256, 256)) == "1000"
    from medtrust.errors import MedtrustError
    with pytest.raises(MedtrustError, match="Unknown box format"):
        choose_scale((0, 0, 1, 1), "list", "percent")


def test_iou_by_hand():
    a, b = (0.0, 0.0, 0.5, 0.5), (0.25, 0.25, 0.75, 0.75)
    assert iou(a, b) == pytest.approx(0.0625 / (0.25 + 0.25 - 0.0625))  # = 1/7
    assert iou(a, a) == 1.0 and iou(a, (0.5, 0.5, 1.0, 1.0)) == 0.0  # touching corners
    assert iou((0, 0, 1, 1), a) == pytest.approx(0.25)
    assert iou((0.0, 0.0, 0.2, 0.1), (0.1, 0.0, 0.3, 0.1)) == pytest.approx(0.01 / 0.03)
    assert iou(None, a) == 0.0 and iou((0.2, 0.2, 0.2, 0.2), (0.2, 0.2, 0.2, 0.2)) == 0.0  # empty boxes
    assert best_iou(a, [(0.6, 0.6, 0.9, 0.9), b, (0, 0, 1, 1)]) == pytest.approx(0.25)
    assert best_iou(a, []) == 0.0 and best_iou(None, [a]) == 0.0
