"""The wire contract's refusals and limits at their exact boundaries, and a broken answer from the service."""

from __future__ import annotations

import json

import pytest
import requests
from requests.structures import CaseInsensitiveDict

from compute_service import contract
from compute_service.contract import ContractError, ErrorCode, PageMeta, PageRequest
from translations.pipeline.report import PageReport, RegionReport

BOUNDARY = "b0undary"


def page_request(**overrides) -> PageRequest:
    fields = {
        "image": b"\x89PNG fake image",
        "source_language": "ja",
        "target_language": "en",
        "translator": "test",
    }
    return PageRequest(**{**fields, **overrides})


def parse(request: PageRequest) -> PageRequest:
    prepared = requests.Request("POST", "http://compute.invalid/", **request.to_multipart()).prepare()
    assert isinstance(prepared.body, bytes)
    return contract.parse_page_request(prepared.headers["Content-Type"], prepared.body)


def refusal(request: PageRequest) -> ContractError:
    with pytest.raises(ContractError) as caught:
        parse(request)
    return caught.value


def form(*parts: tuple[bytes, bytes]) -> tuple[str, bytes]:
    """A multipart/form-data body from (Content-Disposition value, content) pairs, written by hand."""
    body = b"".join(
        b"--" + BOUNDARY.encode() + b"\r\nContent-Disposition: " + disposition + b"\r\n\r\n" + content + b"\r\n"
        for disposition, content in parts
    )
    return f"multipart/form-data; boundary={BOUNDARY}", body + b"--" + BOUNDARY.encode() + b"--\r\n"


GOOD_FIELDS = [
    (b'form-data; name="image"; filename="001.png"', b"\x89PNG fake image"),
    (b'form-data; name="source_language"', b"ja"),
    (b'form-data; name="target_language"', b"en"),
    (b'form-data; name="translator"', b"test"),
]


def test_a_hand_written_form_parses():
    request = contract.parse_page_request(*form(*GOOD_FIELDS))

    assert (request.source_language, request.translator, request.image_filename) == ("ja", "test", "001.png")
    assert request.context_translations == ()


def test_a_field_sent_twice_is_refused():
    with pytest.raises(ContractError) as caught:
        contract.parse_page_request(*form(*GOOD_FIELDS, (b'form-data; name="translator"', b"none")))

    assert (caught.value.code, caught.value.status) == (ErrorCode.BAD_REQUEST, 400)
    assert caught.value.message == "field 'translator' appears twice"


def test_a_field_that_is_not_utf8_is_refused():
    fields = [*GOOD_FIELDS[:3], (b'form-data; name="translator"', b"\xff\xfe")]

    with pytest.raises(ContractError) as caught:
        contract.parse_page_request(*form(*fields))

    assert (caught.value.code, caught.value.status) == (ErrorCode.BAD_REQUEST, 400)
    assert caught.value.message == "field 'translator' is not UTF-8"


def test_a_part_without_a_name_and_a_form_without_an_image_are_refused():
    with pytest.raises(ContractError, match="a multipart part has no name"):
        contract.parse_page_request(*form(*GOOD_FIELDS, (b"form-data", b"x")))
    with pytest.raises(ContractError, match="missing field 'image'"):
        contract.parse_page_request(*form(*GOOD_FIELDS[1:]))


def test_a_part_named_in_the_rfc_2231_form_is_refused():
    # RFC 7578 §4.2: a field is named with name=; name*= would let a client spell "image" in another charset.
    fields = [(b"form-data; name*=utf-8''image; filename=\"001.png\"", b"\x89PNG"), *GOOD_FIELDS[1:]]

    with pytest.raises(ContractError) as caught:
        contract.parse_page_request(*form(*fields))

    assert (caught.value.code, caught.value.status) == (ErrorCode.BAD_REQUEST, 400)
    assert caught.value.message == "a multipart part is named with name*=; use name="


def test_a_context_nested_deeper_than_the_json_parser_goes_is_a_bad_request():
    depth = 100_000
    fields = [*GOOD_FIELDS, (b'form-data; name="context_translations"', b"[" * depth + b"]" * depth)]

    with pytest.raises(ContractError) as caught:
        contract.parse_page_request(*form(*fields))

    assert (caught.value.code, caught.value.message) == (
        ErrorCode.BAD_REQUEST,
        "context_translations is nested too deeply",
    )


def test_the_limits_are_the_documented_ones():
    """docs/compute-service.md: a context of ≤ 3 strings of ≤ 20,000 characters, model names of ≤ 128.

    A deployed peer relies on them: changing one is a contract change (CONTRACT_VERSION and the docs too)."""
    at_limits = page_request(context_translations=("x" * 20_000,) * 3, primary_model="m" * 128, fallback_model="f")
    assert parse(at_limits) == at_limits
    for over in (
        {"context_translations": ("x",) * 4},
        {"context_translations": ("x" * 20_001,)},
        {"primary_model": "m" * 129},
        {"fallback_model": "f" * 129},
    ):
        assert refusal(page_request(**over)).code == ErrorCode.BAD_REQUEST, over


def test_an_image_without_a_filename_is_called_page():
    fields = [(b'form-data; name="image"', b"\x89PNG"), *GOOD_FIELDS[1:]]

    assert contract.parse_page_request(*form(*fields)).image_filename == "page"


def test_field_values_are_stripped_and_empty_models_read_as_none():
    fields = [
        *GOOD_FIELDS[:3],
        (b'form-data; name="translator"', b" test \r\n"),
        (b'form-data; name="primary_model"', b""),
        (b'form-data; name="fallback_model"', b" "),
        (b'form-data; name="context_translations"', b""),
    ]

    request = contract.parse_page_request(*form(*fields))

    assert (request.translator, request.primary_model, request.fallback_model) == ("test", None, None)
    assert request.context_translations == ()


def test_the_context_may_hold_exactly_the_limit_of_pages_and_not_one_more():
    at_limit = tuple(f"page {n}" for n in range(contract.MAX_CONTEXT_TRANSLATIONS))

    assert parse(page_request(context_translations=at_limit)).context_translations == at_limit
    error = refusal(page_request(context_translations=(*at_limit, "one more")))
    assert error.message == f"context_translations has more than {contract.MAX_CONTEXT_TRANSLATIONS} pages"


def test_a_context_page_may_hold_exactly_the_limit_of_characters_and_not_one_more():
    at_limit = "x" * contract.MAX_CONTEXT_CHARS

    assert parse(page_request(context_translations=(at_limit,))).context_translations == (at_limit,)
    error = refusal(page_request(context_translations=(at_limit + "x",)))
    assert error.code == ErrorCode.BAD_REQUEST


def test_a_context_item_that_is_not_text_is_refused_before_sending():
    with pytest.raises(ContractError, match="must be strings"):
        page_request(context_translations=(3,)).validate()


@pytest.mark.parametrize("name", ["primary_model", "fallback_model"])
def test_a_model_name_may_be_exactly_the_limit_long_and_not_one_more(name):
    at_limit = "m" * contract.MAX_NAME_CHARS

    assert getattr(parse(page_request(**{name: at_limit})), name) == at_limit
    error = refusal(page_request(**{name: at_limit + "m"}))
    assert error.message == f"{name} must be printable and ≤ {contract.MAX_NAME_CHARS} chars"


def test_a_model_name_with_a_control_character_is_refused():
    with pytest.raises(ContractError, match="fallback_model must be printable"):
        page_request(fallback_model="gemini\x00").validate()


@pytest.mark.parametrize("translator", contract.TRANSLATORS)
def test_every_translator_of_the_contract_is_accepted(translator):
    assert parse(page_request(translator=translator)).translator == translator


def report() -> PageReport:
    return PageReport(
        width=10,
        height=20,
        source_language="ja",
        target_language="en",
        translator="test",
        mode="translate",
        regions=[RegionReport(id=1, box=[1, 2, 3, 4], source_text="あ", translation="A", flags=[], font_size=9)],
        timings_ms={"load": 1},
        models={"translator": "fixed-text"},
        usage={"input_tokens": 3},
        frames=2,
    )


def success(image: bytes = b"\x89PNG", image_format: str = "PNG", **meta) -> tuple[CaseInsensitiveDict, bytes]:
    content_type, body = contract.encode_page_response(image, image_format, report())
    headers = CaseInsensitiveDict(
        {"Content-Type": content_type, **dict(PageMeta(regions_count=1, **meta).to_headers())}
    )
    return headers, body


def with_header(headers, name: str, value: str):
    changed = headers.copy()
    changed[name] = value
    return changed


def broken(headers: dict, body: bytes) -> ContractError:
    with pytest.raises(ContractError) as caught:
        contract.decode_page_response(200, headers, body)
    return caught.value


def test_a_success_keeps_every_report_field_through_the_wire():
    headers, body = success()

    assert contract.decode_page_response(200, headers, body).report == report()


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b'{"width"', b'{"width" oops'),  # not JSON
        (b'"regions":[', b'"regions":7,"x":['),  # the wrong shape
        (b'"width":10,', b""),  # a field missing
        (b'"width":10,', b'"width":10,"colour":"red",'),  # a field the contract does not have
    ],
)
def test_a_malformed_report_is_a_retryable_502(old, new):
    headers, body = success()

    error = broken(headers, body.replace(old, new, 1))

    assert (error.code, error.status, error.retryable) == (ErrorCode.INTERNAL, 502, True)
    assert error.message.startswith("malformed page report")


def test_a_report_without_its_regions_is_a_retryable_502():
    headers, body = success()
    sent = json.dumps(report().to_dict(), ensure_ascii=False, separators=(",", ":")).encode()
    without_regions = {key: value for key, value in report().to_dict().items() if key != "regions"}

    error = broken(headers, body.replace(sent, json.dumps(without_regions).encode(), 1))

    assert (error.code, error.status, error.retryable) == (ErrorCode.INTERNAL, 502, True)
    assert error.message.startswith("malformed page report")


def test_an_answer_that_is_not_multipart_mixed_or_lacks_a_part_is_a_retryable_502():
    headers, body = success()
    error = broken(with_header(headers, "content-type", "application/json"), body)
    assert (error.status, error.retryable) == (502, True)
    assert error.message == "unexpected response type 'application/json'"

    delimiter = b"\r\n--" + headers["content-type"].split('boundary="')[1].rstrip('"').encode()
    only_report = body[: body.index(delimiter)] + delimiter + b"--\r\n"
    error = broken(headers, only_report)
    assert error.message == "response parts are ['report']"


def test_an_image_of_a_type_outside_the_contract_is_a_502():
    headers, body = success()

    error = broken(headers, body.replace(b"Content-Type: image/png", b"Content-Type: image/gif", 1))

    assert (error.status, error.message) == (502, "unexpected image type 'image/gif'")


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "WEBP"])  # the contract's formats (docs: image/jpeg|png|webp)
def test_every_image_format_of_the_contract_comes_back_by_name(image_format):
    headers, body = success(b"bytes", image_format)

    assert contract.decode_page_response(200, headers, body).image_format == image_format


def test_malformed_meta_headers_are_a_502():
    headers, body = success()

    error = broken(with_header(headers, "x-remote-elapsed-ms", "soon"), body)

    assert (error.status, error.code) == (502, ErrorCode.INTERNAL)
    assert error.message.startswith("malformed response headers")


def test_the_meta_flags_are_read_as_true_only_when_they_say_so():
    meta = PageMeta.from_headers({"x-fallback-used": "true", "x-cold-start": "yes"})
    assert (meta.fallback_used, meta.cold_start) == (True, False)
    assert PageMeta.from_headers({}).contract_version == ""
    assert dict(PageMeta(fallback_used=True).to_headers())["x-fallback-used"] == "true"
    assert dict(PageMeta().to_headers())["x-fallback-used"] == "false"


def test_a_retry_after_is_taken_only_when_it_is_a_number_of_seconds():
    body = ContractError(ErrorCode.BUSY, "busy").to_body()
    assert contract.error_from_response(429, {"retry-after": " 12 "}, body).retry_after == 12.0
    assert contract.error_from_response(429, {"retry-after": "Wed, 21 Oct 2015"}, body).retry_after is None
    assert contract.error_from_response(429, {}, body).retry_after is None


def test_an_error_body_missing_a_field_reads_as_a_plain_http_error():
    body = json.dumps({"error": "busy", "message": "no stage"}).encode()

    error = contract.error_from_response(500, {}, body)

    assert (error.code, error.status, error.message) == ("http_500", 500, body.decode())


def test_an_error_body_that_is_json_but_not_an_object_reads_as_a_plain_http_error():
    error = contract.error_from_response(502, {}, b'["bad gateway"]')  # a proxy's JSON, not the service's

    assert (error.code, error.status, error.message, error.retryable) == ("http_502", 502, '["bad gateway"]', True)


def test_an_error_reads_as_its_message_in_logs_and_tracebacks():
    assert str(ContractError(ErrorCode.BUSY, "every slot is taken", stage="load")) == "every slot is taken"


def test_requests_and_responses_leave_the_image_bytes_out_of_their_repr():
    image = b"\x89PNG" + b"pixels" * 1000  # megabytes in real life: never in a log line
    response = contract.PageResponse(image=image, image_format="PNG", report=report(), meta=PageMeta())

    assert "pixels" not in repr(page_request(image=image))
    assert "pixels" not in repr(response)


def test_the_meta_of_an_error_answer_claims_no_fallback_and_no_cold_start():
    # What the service sends with an error (compute_service/app.py); the web side counts cold starts from it.
    headers = dict(PageMeta(failure_stage="load", remote_elapsed_ms=3).to_headers())

    assert (headers["x-fallback-used"], headers["x-cold-start"], headers["x-failure-stage"]) == (
        "false",
        "false",
        "load",
    )


def test_only_408_429_and_5xx_are_retryable_at_their_edges():
    statuses = (407, 408, 409, 428, 429, 430, 499, 500, 599)
    assert [contract.is_retryable(s) for s in statuses] == [False, True, False, False, True, False, False, True, True]


def test_an_error_takes_its_status_from_its_code_unless_given():
    assert ContractError(ErrorCode.TOO_LARGE, "big").status == 413
    assert ContractError(ErrorCode.BUSY, "busy", status=503).status == 503
    assert ContractError("something_new", "?").status == 500
    assert json.loads(ContractError(ErrorCode.BUSY, "b", stage="load").to_body()) == {
        "error": "busy",
        "message": "b",
        "stage": "load",
    }


def test_header_values_escape_percent_and_control_characters_but_keep_printable_ascii():
    assert contract.encode_header_value(" a~Z%\x7f\x1f") == " a~Z%25%7F%1F"
    assert contract.decode_header_value("%E3%83%A2 %25") == "モ %"
    with pytest.raises(UnicodeDecodeError):
        contract.decode_header_value("%FF")


def test_the_request_headers_carry_the_token_and_the_contract_version():
    assert contract.request_headers("t0ken") == {"x-internal-token": "t0ken", "x-contract-version": "1"}
