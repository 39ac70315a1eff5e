"""A corpus of malformed and unusual emails, built in code so each case says what it is.

Every case is raw bytes as a mail server would hand them over. The corpus test feeds each
to ingest_raw_email: none may crash; each is stored or refused with a reason.
"""

from __future__ import annotations

import base64
from collections.abc import Callable

TO = "support@acme.example.com"


def _mail(headers: list[str], body: bytes | str, *, sep: bytes = b"\r\n") -> bytes:
    head = sep.join(h.encode("utf-8", "surrogateescape") for h in headers)
    data = body if isinstance(body, bytes) else body.encode("utf-8")
    return head + sep + sep + data


def _basic(
    n: int, extra: list[str] | None = None, ctype: str = "text/plain; charset=utf-8"
) -> list[str]:
    return [
        f"From: Corpus Sender {n} <sender{n}@example.net>",
        f"To: {TO}",
        f"Subject: corpus case {n}",
        f"Message-ID: <corpus-{n}@example.net>",
        "MIME-Version: 1.0",
        f"Content-Type: {ctype}",
        *(extra or []),
    ]


def _multipart(
    n: int, boundary: str, parts: list[bytes], *, close: bool = True, subtype: str = "mixed"
) -> bytes:
    body = b"".join(b"--" + boundary.encode() + b"\r\n" + part + b"\r\n" for part in parts)
    if close:
        body += b"--" + boundary.encode() + b"--\r\n"
    return _mail(_basic(n, ctype=f'multipart/{subtype}; boundary="{boundary}"'), body)


def _part(ctype: str, body: bytes | str, *extra: str) -> bytes:
    head = "\r\n".join([f"Content-Type: {ctype}", *extra]).encode()
    data = body if isinstance(body, bytes) else body.encode("utf-8")
    return head + b"\r\n\r\n" + data


def _b64(data: bytes) -> str:
    return base64.encodebytes(data).decode()


def _nested_forward(depth: int) -> bytes:
    inner = _mail(
        ["From: origin@example.org", "To: someone@example.org", "Subject: the very first"],
        "original words",
    )
    for level in range(depth):
        inner = _mail(
            [
                f"From: fwd{level}@example.org",
                "To: next@example.org",
                f"Subject: Fwd: level {level}",
                "MIME-Version: 1.0",
                f'Content-Type: multipart/mixed; boundary="L{level}"',
            ],
            (
                f"--L{level}\r\nContent-Type: text/plain\r\n\r\nsee below {level}\r\n"
                f"--L{level}\r\nContent-Type: message/rfc822\r\n\r\n"
            ).encode()
            + inner
            + f"\r\n--L{level}--\r\n".encode(),
        )
    return inner


def _cases() -> dict[str, Callable[[], bytes]]:
    cases: dict[str, Callable[[], bytes]] = {}

    def case(name: str) -> Callable[[Callable[[], bytes]], Callable[[], bytes]]:
        def register(build: Callable[[], bytes]) -> Callable[[], bytes]:
            cases[name] = build
            return build

        return register

    case("plain_minimal")(lambda: _mail(_basic(1), "hello"))
    case("lf_only_line_endings")(lambda: _mail(_basic(2), "unix\nlines\n", sep=b"\n"))
    case("cr_only_line_endings")(lambda: _mail(_basic(3), "old mac\rlines\r", sep=b"\r"))
    case("empty_body")(lambda: _mail(_basic(4), ""))
    case("headers_only_no_separator")(lambda: b"\r\n".join(h.encode() for h in _basic(5)))
    case("no_from_header")(lambda: _mail(_basic(6)[1:], "who am I"))
    case("garbage_from_header")(
        lambda: _mail(["From: ,,,<<<>>>@@@", *_basic(7)[1:]], "broken from")
    )
    case("from_without_domain")(lambda: _mail(["From: localonly", *_basic(8)[1:]], "x"))
    case("no_message_id")(
        lambda: _mail([h for h in _basic(9) if not h.startswith("Message-ID")], "no id")
    )
    case("message_id_without_brackets")(
        lambda: _mail(
            [
                h if not h.startswith("Message-ID") else "Message-ID: bare-10@example.net"
                for h in _basic(10)
            ],
            "bare id",
        )
    )
    case("huge_message_id")(
        lambda: _mail(
            [
                h if not h.startswith("Message-ID") else f"Message-ID: <{'x' * 5000}@e.net>"
                for h in _basic(11)
            ],
            "long id",
        )
    )
    case("missing_boundary_parameter")(
        lambda: _mail(_basic(12, ctype="multipart/mixed"), "--x\r\n\r\ntext\r\n--x--")
    )
    case("boundary_never_closed")(
        lambda: _multipart(13, "open", [_part("text/plain", "never closed")], close=False)
    )
    case("boundary_mismatch")(
        lambda: _mail(
            _basic(14, ctype='multipart/mixed; boundary="declared"'),
            "--other\r\nContent-Type: text/plain\r\n\r\nmismatch\r\n--other--\r\n",
        )
    )
    case("preamble_and_epilogue_only")(
        lambda: _mail(_basic(15, ctype='multipart/mixed; boundary="b"'), "just preamble, no parts")
    )
    case("unknown_charset")(
        lambda: _mail(
            _basic(16, ctype="text/plain; charset=x-klingon-8"),
            "Qapla\xe2\x80\x99".encode("latin-1"),
        )
    )
    case("latin2_declared_as_utf8")(
        lambda: _mail(
            _basic(17, ctype="text/plain; charset=utf-8"), "Zażółć gęślą".encode("iso-8859-2")
        )
    )
    case("utf16_body")(
        lambda: _mail(
            _basic(18, ctype="text/plain; charset=utf-16"), "utf sixteen ąę".encode("utf-16")
        )
    )
    case("eight_bit_in_headers")(
        lambda: _mail(
            [
                "From: Paweł Łączny <pawel@example.pl>",
                f"To: {TO}",
                "Subject: Zażółć gęślą jaźń",
                "Message-ID: <c19@example.pl>",
            ],
            "8bit headers",
        )
    )
    case("latin1_bytes_in_headers")(
        lambda: (
            b"From: Jos\xe9 <jose@example.es>\r\nTo: "
            + TO.encode()
            + b"\r\nSubject: Canci\xf3n\r\nMessage-ID: <c20@example.es>\r\n\r\nhola"
        )
    )
    case("broken_rfc2047_word")(
        lambda: _mail(
            [
                "From: =?utf-8?B?!!!not-base64?= <enc@example.net>",
                f"To: {TO}",
                "Subject: =?unknown-charset?Q?caf=E9?=",
                "Message-ID: <c21@example.net>",
            ],
            "x",
        )
    )
    case("emoji_subject")(
        lambda: _mail(
            [
                "From: emoji@example.net",
                f"To: {TO}",
                "Subject: =?UTF-8?B?"
                + base64.b64encode("🚚 📦 where? 😡".encode()).decode()
                + "?=",
                "Message-ID: <c22@example.net>",
            ],
            "📦📦📦",
        )
    )
    case("rtl_arabic_hebrew")(lambda: _mail(_basic(23), "مرحبا، أين طلبي؟ ‏שלום, איפה ההזמנה שלי?‎"))
    case("null_bytes_in_body")(lambda: _mail(_basic(24), b"before\x00after\x00"))
    case("null_bytes_in_headers")(
        lambda: (
            b"From: nul\x00l@example.net\r\nTo: "
            + TO.encode()
            + b"\r\nSubject: a\x00b\r\nMessage-ID: <c25@example.net>\r\n\r\nbody"
        )
    )
    case("huge_header_line")(lambda: _mail([*_basic(26), "X-Huge: " + "A" * 200_000], "big header"))
    case("thousands_of_headers")(
        lambda: _mail(
            [*_basic(27), *[f"X-Trace-{i}: hop {i}" for i in range(5000)]], "many headers"
        )
    )
    case("thousands_of_received")(
        lambda: _mail(
            [
                *[f"Received: from hop{i}.example by x; Mon, 2 Nov 2026" for i in range(3000)],
                *_basic(28),
            ],
            "many hops",
        )
    )
    case("huge_subject")(
        lambda: _mail(
            [
                h if not h.startswith("Subject") else "Subject: " + "long " * 4000
                for h in _basic(29)
            ],
            "big subject",
        )
    )
    case("invalid_base64_body")(
        lambda: _mail([*_basic(30), "Content-Transfer-Encoding: base64"], "!!!@@@ not base64 ###")
    )
    case("truncated_base64_attachment")(
        lambda: _multipart(
            31,
            "t",
            [
                _part("text/plain", "see file"),
                _part(
                    "application/pdf",
                    _b64(b"%PDF-1.4 data")[:-6],
                    "Content-Transfer-Encoding: base64",
                    'Content-Disposition: attachment; filename="cut.pdf"',
                ),
            ],
        )
    )
    case("bad_quoted_printable")(
        lambda: _mail(
            [*_basic(32), "Content-Transfer-Encoding: quoted-printable"], "bad =ZZ escape =\r\n=4"
        )
    )
    case("unknown_transfer_encoding")(
        lambda: _mail([*_basic(33), "Content-Transfer-Encoding: x-uuencode-weird"], "strange")
    )
    case("only_attachment_no_text")(
        lambda: _multipart(
            34,
            "o",
            [
                _part(
                    "image/jpeg",
                    _b64(b"\xff\xd8\xff\xe0jpeg"),
                    "Content-Transfer-Encoding: base64",
                    'Content-Disposition: attachment; filename="photo.jpg"',
                )
            ],
        )
    )
    case("attachment_as_whole_body")(
        lambda: _mail(
            [
                *_basic(35, ctype="application/pdf; name=invoice.pdf"),
                "Content-Transfer-Encoding: base64",
                "Content-Disposition: attachment; filename=invoice.pdf",
            ],
            _b64(b"%PDF-1.7"),
        )
    )
    case("tnef_winmail_dat")(
        lambda: _multipart(
            36,
            "w",
            [
                _part("text/plain", "see attached"),
                _part(
                    "application/ms-tnef",
                    _b64(b"\x78\x9f\x3e\x22" + b"\x00" * 40),
                    "Content-Transfer-Encoding: base64",
                    'Content-Disposition: attachment; filename="winmail.dat"',
                ),
            ],
        )
    )
    case("calendar_only")(
        lambda: _mail(
            _basic(37, ctype="text/calendar; method=REQUEST; charset=utf-8"),
            "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n",
        )
    )
    case("dsn_multipart_report")(
        lambda: _mail(
            [
                "From: MAILER-DAEMON@mx.example.net",
                f"To: {TO}",
                "Subject: Delivery Status Notification (Failure)",
                "Message-ID: <c38@mx>",
                'Content-Type: multipart/report; report-type=delivery-status; boundary="r"',
            ],
            "--r\r\nContent-Type: text/plain\r\n\r\nfailed\r\n"
            "--r\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n"
            "Final-Recipient: rfc822; x@y\r\nAction: failed\r\nStatus: 5.0.0\r\n"
            "--r\r\nContent-Type: message/rfc822\r\n\r\nFrom: a@b\r\nSubject: orig\r\n\r\nhi\r\n--r--\r\n",
        )
    )
    case("dsn_with_empty_from")(
        lambda: _mail(
            [
                "From: <>",
                "Return-Path: <>",
                f"To: {TO}",
                "Subject: failure notice",
                "Message-ID: <c39@mx>",
            ],
            "Hi. This is the qmail-send program.",
        )
    )
    case("out_of_office_subject_only")(
        lambda: _mail(
            [
                h if not h.startswith("Subject") else "Subject: Out of Office: back Monday"
                for h in _basic(40)
            ],
            "I am away",
        )
    )
    case("x_autoreply_header")(lambda: _mail([*_basic(41), "X-Autoreply: yes"], "auto"))
    case("nested_forward_3")(lambda: _nested_forward(3))
    case("nested_forward_40_deep")(lambda: _nested_forward(40))
    case("rfc822_inside_rfc822_inside_alternative")(
        lambda: _multipart(
            44,
            "alt",
            [_part("text/plain", "plain"), _part("message/rfc822", _nested_forward(2))],
            subtype="alternative",
        )
    )
    case("empty_rfc822_part")(lambda: _multipart(45, "e", [_part("message/rfc822", "")]))
    case("html_with_script_only")(
        lambda: _mail(_basic(46, ctype="text/html; charset=utf-8"), "<script>alert(1)</script>")
    )
    case("html_unclosed_tags")(
        lambda: _mail(
            _basic(47, ctype="text/html; charset=utf-8"),
            "<div><p><b>unclosed <i>tags<table><tr><td>",
        )
    )
    case("html_huge_nesting")(
        lambda: _mail(_basic(48, ctype="text/html"), "<div>" * 5000 + "deep" + "</div>" * 5000)
    )
    case("six_hundred_parts")(
        lambda: _multipart(49, "many", [_part("text/plain", f"part {i}") for i in range(600)])
    )
    case("cid_image_without_html")(
        lambda: _multipart(
            50,
            "rel",
            [
                _part(
                    "image/gif",
                    _b64(b"GIF89a"),
                    "Content-ID: <img1@x>",
                    "Content-Transfer-Encoding: base64",
                )
            ],
            subtype="related",
        )
    )
    case("filename_path_traversal")(
        lambda: _multipart(
            51,
            "p",
            [
                _part("text/plain", "x"),
                _part(
                    "application/octet-stream",
                    "data",
                    'Content-Disposition: attachment; filename="../../../etc/passwd"',
                ),
            ],
        )
    )
    case("filename_rfc2047_encoded")(
        lambda: _multipart(
            52,
            "f",
            [
                _part(
                    "application/octet-stream",
                    "data",
                    'Content-Disposition: attachment; filename="=?utf-8?Q?fa=C5=BCa.txt?="',
                )
            ],
        )
    )
    case("content_type_garbage")(lambda: _mail(_basic(53, ctype=";;;/// ==="), "what type"))
    case("multipart_without_parts_and_wrong_type")(
        lambda: _mail(_basic(54, ctype='multipart/weird; boundary="q"'), "--q--")
    )
    case("reply_with_quote_only")(lambda: _mail(_basic(55), "> everything quoted\r\n> nothing new"))
    case("signature_only")(lambda: _mail(_basic(56), "-- \r\nJan Kowalski\r\nCEO"))
    case("bare_lf_in_headers_folding")(
        lambda: (
            b"From: fold@example.net\r\nTo: "
            + TO.encode()
            + b"\r\nSubject: folded\n\tover\n  lines\r\nMessage-ID: <c57@x>\r\n\r\nbody"
        )
    )
    case("duplicate_headers")(
        lambda: _mail(
            [
                "From: a@example.net",
                "From: b@example.net",
                f"To: {TO}",
                f"To: {TO}",
                "Subject: one",
                "Subject: two",
                "Message-ID: <c58@x>",
                "Message-ID: <c58b@x>",
            ],
            "dup",
        )
    )
    case("binary_garbage")(lambda: bytes(range(256)) * 40)
    case("only_whitespace")(lambda: b"   \r\n\r\n  \t ")
    case("html_and_text_disagree_charsets")(
        lambda: _multipart(
            61,
            "dc",
            [
                _part("text/plain; charset=iso-8859-2", "Łódź".encode("iso-8859-2")),
                _part("text/html; charset=koi8-r", "<p>Łódź</p>".encode()),
            ],
            subtype="alternative",
        )
    )
    case("mailer_daemon_sender")(
        lambda: _mail(
            [
                "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
                f"To: {TO}",
                "Subject: Delivery Status Notification",
                "Message-ID: <c62@g>",
            ],
            "bounce",
        )
    )
    case("precedence_junk")(lambda: _mail([*_basic(63), "Precedence: junk"], "spam-ish"))
    case("in_reply_to_garbage")(
        lambda: _mail(
            [*_basic(64), "In-Reply-To: <<<>>> not an id", "References: " + "<r@x> " * 2000], "r"
        )
    )
    case("iso_2022_jp_mislabelled_as_utf8")(
        lambda: _mail(
            _basic(65, ctype="text/plain; charset=utf-8"), "こんにちは".encode("iso-2022-jp")
        )
    )
    case("gb18030_body")(
        lambda: _mail(
            _basic(66, ctype="text/plain; charset=gb2312"), "你好 我的订单在哪里".encode("gb18030")
        )
    )
    case("smtputf8_address")(
        lambda: _mail(
            ["From: Zoë <zoë@bücher.example>", f"To: {TO}", "Subject: idn", "Message-ID: <c67@x>"],
            "idn address",
        )
    )
    case("multipart_nested_1000_deep")(lambda: _deep_multipart(1000))
    return cases


def _deep_multipart(depth: int) -> bytes:
    body = b"".join(
        f'--b{i}\r\nContent-Type: multipart/mixed; boundary="b{i + 1}"\r\n\r\n'.encode()
        for i in range(depth)
    )
    body += f"--b{depth}\r\nContent-Type: text/plain\r\n\r\ndeep\r\n".encode()
    return _mail(_basic(68, ctype='multipart/mixed; boundary="b0"'), body)


CORPUS: dict[str, Callable[[], bytes]] = _cases()
