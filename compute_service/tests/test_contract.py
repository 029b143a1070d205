"""The wire contract: what the CloudRunExecutor sends is what the service parses, and back."""

from __future__ import annotations

import email
import email.policy
import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from compute_service import contract
from compute_service.contract import ContractError, ErrorCode, Header, PageMeta, PageRequest
from translations.pipeline.report import PageReport, RegionReport

ROOT = Path(__file__).resolve().parents[2]


def page_request(**overrides) -> PageRequest:
    fields = {
        "image": b"\x89PNG fake image bytes \r\n--not-a-boundary\r\n",
        "source_language": "ja",
        "target_language": "en",
        "translator": "test",
        "context_translations": ("Page one.", "Zwei — «deux» 三"),
        "primary_model": "gemini-3-flash-preview",
        "fallback_model": "gemini-2.5-flash",
    }
    return PageRequest(**{**fields, **overrides})


def encoded(request: PageRequest) -> tuple[str, bytes]:
    """The exact bytes `requests` puts on the wire for `to_multipart()`."""
    built = requests.Request("POST", "http://compute.invalid" + contract.TRANSLATE_PATH, **request.to_multipart())
    prepared = built.prepare()
    assert isinstance(prepared.body, bytes)
    return prepared.headers["Content-Type"], prepared.body


def report() -> PageReport:
    return PageReport(
        width=820,
        height=1160,
        source_language="ja",
        target_language="en",
        translator="test",
        mode="translate",
        regions=[RegionReport(id=1, box=[1, 2, 3, 4], source_text="こんにちは", translation="Hi", flags=["sfx"])],
        timings_ms={"load": 3, "detect": 120},
        models={"translator": "fixed-text"},
    )


def test_what_requests_sends_for_a_page_request_parses_back_to_the_same_request():
    request = page_request()
    assert contract.parse_page_request(*encoded(request)) == request
    assert contract.parse_page_request(*encoded(request)).image == request.image


def test_the_request_and_the_report_travel_as_utf8_json_not_escapes():
    # docs/compute-service.md: the parts carry UTF-8 JSON; escapes would double or triple every CJK line.
    _, body = encoded(page_request())
    assert "Zwei — «deux» 三".encode() in body
    _, body = contract.encode_page_response(b"\x89PNG", "PNG", report())
    assert "こんにちは".encode() in body


def test_optional_fields_may_be_left_out():
    request = page_request(context_translations=(), primary_model=None, fallback_model=None)
    content_type, body = encoded(request)
    assert b"primary_model" not in body
    assert contract.parse_page_request(content_type, body) == request


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"source_language": "xx"}, ErrorCode.UNKNOWN_LANGUAGE),
        ({"target_language": "日本語"}, ErrorCode.UNKNOWN_LANGUAGE),
        ({"translator": "babelfish"}, ErrorCode.UNKNOWN_TRANSLATOR),
        ({"image": b""}, ErrorCode.CORRUPT_IMAGE),
        ({"context_translations": ("a", "b", "c", "d")}, ErrorCode.BAD_REQUEST),
        ({"context_translations": ("x" * (contract.MAX_CONTEXT_CHARS + 1),)}, ErrorCode.BAD_REQUEST),
        ({"primary_model": "m" * (contract.MAX_NAME_CHARS + 1)}, ErrorCode.BAD_REQUEST),
    ],
)
def test_it_refuses_invalid_fields_with_a_stable_code(overrides, code):
    with pytest.raises(ContractError) as caught:
        contract.parse_page_request(*encoded(page_request(**overrides)))
    assert caught.value.code == code
    assert caught.value.status == 400


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"context_translations": "not json"}, "not JSON"),
        ({"context_translations": '{"a": 1}'}, "list of strings"),
        ({"context_translations": "[1, 2]"}, "list of strings"),
    ],
)
def test_it_refuses_a_context_that_is_not_a_json_list_of_strings(data, message):
    multipart = page_request().to_multipart()
    multipart["data"].update(data)
    prepared = requests.Request("POST", "http://compute.invalid/", **multipart).prepare()
    with pytest.raises(ContractError, match=message):
        contract.parse_page_request(prepared.headers["Content-Type"], prepared.body)


def test_it_refuses_a_missing_field_and_a_body_that_is_not_multipart():
    multipart = page_request().to_multipart()
    del multipart["data"]["translator"]
    prepared = requests.Request("POST", "http://compute.invalid/", **multipart).prepare()
    with pytest.raises(ContractError, match="missing field 'translator'"):
        contract.parse_page_request(prepared.headers["Content-Type"], prepared.body)
    with pytest.raises(ContractError, match="multipart/form-data"):
        contract.parse_page_request("application/json", b"{}")
    content_type, body = encoded(page_request())
    with pytest.raises(ContractError, match="truncated"):
        contract.parse_page_request(content_type, body[: len(body) // 2])


def test_a_success_response_decodes_to_the_image_the_report_and_the_header_meta():
    image = b"\xff\xd8 jpeg bytes with \r\n-- inside \xff\xd9"
    meta = PageMeta(regions_count=1, stage_elapsed_ms={"load": 3}, remote_elapsed_ms=250, cold_start=True)
    content_type, body = contract.encode_page_response(image, "JPEG", report())
    headers = requests.structures.CaseInsensitiveDict({"Content-Type": content_type, **dict(meta.to_headers())})
    response = contract.decode_page_response(200, headers, body)
    assert response.image == image
    assert response.image_format == "JPEG"
    assert response.report == report()
    assert response.meta == meta


def test_the_response_body_is_standard_mime_that_the_stdlib_email_parser_reads():
    content_type, body = contract.encode_page_response(b"\x89PNG...", "PNG", report())
    message = email.message_from_bytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body, policy=email.policy.HTTP
    )
    report_part, image_part = message.iter_parts()
    assert json.loads(report_part.get_content())["regions"][0]["source_text"] == "こんにちは"
    assert image_part.get_content_type() == "image/png"
    assert image_part.get_payload(decode=True) == b"\x89PNG..."


def test_headers_are_ascii_and_non_ascii_values_round_trip_percent_encoded():
    meta = PageMeta(model_primary="モデル-β 100%", model_selected="plain", failure_stage="translate")
    headers = meta.to_headers()
    assert all(name.isascii() and value.isascii() for name, value in headers)
    assert dict(headers)["x-model-primary"] == "%E3%83%A2%E3%83%87%E3%83%AB-%CE%B2 100%25"
    assert PageMeta.from_headers(dict(headers)) == meta


def test_absent_optional_headers_read_as_none():
    headers = dict(PageMeta().to_headers())
    assert Header.FAILURE_STAGE not in headers
    assert PageMeta.from_headers(headers).failure_stage is None


def test_every_error_code_has_a_status_and_only_busy_timeouts_internal_and_not_ready_are_retryable():
    assert set(contract.ERROR_STATUS) == set(ErrorCode)
    retryable = {code for code, status in contract.ERROR_STATUS.items() if contract.is_retryable(status)}
    assert retryable == {ErrorCode.BUSY, ErrorCode.BODY_TIMEOUT, ErrorCode.INTERNAL, ErrorCode.NOT_READY}
    assert [contract.is_retryable(status) for status in (408, 429, 500, 502, 503, 400, 401, 413, 422)] == [
        True, True, True, True, True, False, False, False, False,
    ]  # fmt: skip


def documented_errors() -> dict[str, tuple[int, bool]]:
    """code → (status, retryable) from the error table of docs/compute-service.md, which operators read."""
    section = (ROOT / "docs" / "compute-service.md").read_text().split("\n## Errors\n", 1)[1]
    rows: dict[str, tuple[int, bool]] = {}
    for line in section.split("\n## ", 1)[0].splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].startswith("`"):
            continue
        codes = [code.strip(" `") for code in cells[0].split("/")]
        statuses = [int(status) for status in cells[1].split("/")]
        for code, status in zip(codes, statuses * len(codes) if len(statuses) == 1 else statuses, strict=True):
            rows[code] = (status, cells[2].startswith("yes"))
    return rows


def test_every_error_code_answers_the_status_and_retry_rule_the_docs_give_it():
    documented = documented_errors()

    assert set(ErrorCode) <= set(documented)
    assert {
        code: (contract.ERROR_STATUS[code], contract.is_retryable(contract.ERROR_STATUS[code])) for code in ErrorCode
    } == {code: documented[code] for code in ErrorCode}
    assert {code: ContractError(code, "m").status for code in ErrorCode} == {
        code: documented[code][0] for code in ErrorCode
    }


def test_an_error_response_becomes_a_contract_error_with_its_code_stage_and_retry_after():
    body = ContractError(ErrorCode.BUSY, "every slot is taken").to_body()
    error = contract.error_from_response(429, {"retry-after": "7"}, body)
    assert (error.code, error.status, error.retryable, error.retry_after) == ("busy", 429, True, 7.0)
    failed = ContractError(ErrorCode.PIPELINE_FAILED, "ocr broke", stage="ocr").to_body()
    with pytest.raises(ContractError) as caught:
        contract.decode_page_response(422, {}, failed)
    assert (caught.value.code, caught.value.stage, caught.value.retryable) == ("pipeline_failed", "ocr", False)


def test_an_error_page_from_something_in_front_of_the_service_is_still_an_error():
    error = contract.error_from_response(503, {}, b"<html>Service Unavailable</html>")
    assert (error.code, error.status, error.retryable) == ("http_503", 503, True)


def test_importing_the_contract_pulls_in_neither_django_nor_numpy():
    probe = "import sys, compute_service.contract; print(sorted(m for m in sys.modules if m.split('.')[0] in "
    probe += "('django', 'numpy', 'PIL', 'onnxruntime', 'mangasite')))"
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
