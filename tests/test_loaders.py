"""Loaders on real files of every format (written here with the libraries that write them), the HWP fixtures of
../shared/fixtures/hwp, bad input of every kind, and the text normalization they all share."""
from __future__ import annotations

import logging
import random
import time
from pathlib import Path

import pytest

from index.loaders import SUPPORTED_SUFFIXES, LoadFailure, decode_text, load_file, load_many
from index.normalize import normalize_text
from index.records import Document, LoadError

SHARED = Path(__file__).resolve().parents[2] / "shared"
HWP_DIR = SHARED / "fixtures" / "hwp"
NANUM = Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf")
MB = 2**20

needs_hwp = pytest.mark.skipif(not HWP_DIR.is_dir(), reason=f"HWP fixtures not found at {HWP_DIR}")


def reason_of(path: Path, max_bytes: int = 10 * MB) -> str:
    with pytest.raises(LoadFailure) as info:
        load_file(path, max_bytes)
    return info.value.reason


def all_text(doc: Document) -> str:
    return "\n".join(s.text for s in doc.sections)


# ---------------------------------------------------------------------------------------------------------------------
# plain text, encodings

LONG_KO = ("서울특별시는 인공지능 기본계획에 따라 시민 생활과 밀접한 행정 서비스에 인공지능을 도입하고 있다. "
           "스마트도시위원회는 2024. 3. 26. 회의에서 자율주행, 안전진단, 민원 상담 분야의 추진 현황을 점검하였다. "
           "총 사업비는 1,234억원이며 의안번호 제1544호로 시의회에 제출되었다.\n") * 3


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp949", "euc-kr", "utf-16"])
def test_txt_encodings_long(tmp_path, encoding):
    p = tmp_path / f"plan-{encoding}.txt"
    p.write_bytes(LONG_KO.encode(encoding))
    doc = load_file(p, MB)
    assert doc.format == "txt" and doc.source == str(p)
    assert "스마트도시위원회는 2024. 3. 26. 회의에서" in all_text(doc)
    assert "1,234억원" in all_text(doc) and "제1544호" in all_text(doc)
    assert "\ufeff" not in all_text(doc)
    assert doc.title == "plan-" + encoding            # the first line is a sentence, so the stem is the title


@pytest.mark.parametrize("text", ["서울시 예산", "한글", "민원 처리 기간: 7일"])
def test_txt_short_cp949_decodes(tmp_path, text):
    p = tmp_path / "short.txt"
    p.write_bytes(text.encode("cp949"))
    assert all_text(load_file(p, MB)) == text
    assert decode_text(text.encode("cp949")) == text


def test_txt_title_from_first_line_and_sections(tmp_path):
    p = tmp_path / "report.txt"
    body = "\n\n".join(f"{i}. 추진 과제 {i}\n서울시는 과제 {i}를 추진한다. " + "세부 내용을 설명한다. " * 60
                       for i in range(1, 8))
    p.write_text("서울시 인공지능 추진계획\n\n" + body, encoding="utf-8")
    doc = load_file(p, MB)
    assert doc.title == "서울시 인공지능 추진계획"
    assert len(doc.sections) > 1                      # cut into paragraph groups of bounded size
    assert all(len(s.text) < 6000 for s in doc.sections)
    assert any(s.heading.startswith("추진 과제") or "추진 과제" in s.heading for s in doc.sections[1:])


def test_markdown_headings_tables_and_wrapped_lines(tmp_path):
    p = tmp_path / "memo.md"
    p.write_text("# 스마트도시 추진 현황\n\n서울시는 자치구와 협력하여 스마트도시 시범사업을\n확대하고 있다.\n\n"
                 "## 예산\n\n| 구분 | 2023년 | 2024년 |\n|---|---:|---|\n| 예산 | 10억원 | 20억원 |\n", encoding="utf-8")
    doc = load_file(p, MB)
    assert doc.title == "스마트도시 추진 현황" and doc.format == "md"
    assert [s.heading for s in doc.sections] == ["스마트도시 추진 현황", "예산"]
    assert "스마트도시 시범사업을 확대하고 있다." in doc.sections[0].text
    assert doc.sections[1].text.splitlines()[-2:] == ["구분 | 2023년 | 2024년", "예산 | 10억원 | 20억원"]


# ---------------------------------------------------------------------------------------------------------------------
# PDF (fpdf2 + NanumGothic)

PDF_PAGES = [
    ["1. 추진 배경", "서울특별시는 2024. 3. 26. 제1차 스마트도시위원회를 개최하여", "인공지능 행정 서비스 확대 방안을 논의하였다."],
    ["2. 예산 현황", "총 사업비는 1,234억원이며 대상 면적은 605.23km²이다.", "의안번호 제1544호로 접수되었다."],
    ["3. 향후 계획", "2025년에는 자치구와 협력하여 시범사업을 확대할 예정임."],
]


@pytest.fixture(scope="module")
def korean_pdf(tmp_path_factory) -> Path:
    if not NANUM.exists():
        pytest.skip(f"NanumGothic font not installed at {NANUM} (Debian package fonts-nanum)")
    from fpdf import FPDF
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    pdf = FPDF()
    pdf.add_font("Nanum", fname=str(NANUM))
    pdf.set_font("Nanum", size=12)
    pdf.set_title("서울시 스마트도시 추진 보고서")
    for lines in PDF_PAGES:
        pdf.add_page()
        for line in lines:
            pdf.cell(0, 10, line, new_x="LMARGIN", new_y="NEXT")
    path = tmp_path_factory.mktemp("pdf") / "report.pdf"
    pdf.output(str(path))
    return path


def test_pdf_pages_korean_text_and_page_numbers(korean_pdf):
    doc = load_file(korean_pdf, 10 * MB)
    assert doc.format == "pdf" and doc.title == "서울시 스마트도시 추진 보고서"
    assert [s.page for s in doc.sections] == [1, 2, 3]
    p1, p2, p3 = (s.text for s in doc.sections)
    # the line the PDF broke mid-sentence is joined again; the heading line is not
    assert p1 == "1. 추진 배경\n서울특별시는 2024. 3. 26. 제1차 스마트도시위원회를 개최하여 인공지능 행정 서비스 확대 방안을 논의하였다."
    assert "총 사업비는 1,234억원이며 대상 면적은 605.23km²이다." in p2 and "제1544호" in p2
    assert p3.startswith("3. 향후 계획\n2025년에는")
    assert doc.sections[2].heading == "2. 예산 현황"      # the heading in force where the page starts


def test_pdf_truncated_and_corrupt(korean_pdf, tmp_path):
    data = korean_pdf.read_bytes()
    for frac in (0.3, 0.7):
        cut = tmp_path / f"cut-{frac}.pdf"
        cut.write_bytes(data[: int(len(data) * frac)])
        assert reason_of(cut) == "손상된 PDF"
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"%PDF-1.4\n" + random.Random(1).randbytes(4000))
    assert reason_of(junk) == "손상된 PDF"


def test_pdf_password_protection(tmp_path):
    if not NANUM.exists():
        pytest.skip(f"NanumGothic font not installed at {NANUM}")
    from fpdf import FPDF

    def write(name: str, user_password: str | None) -> Path:
        pdf = FPDF()
        pdf.add_font("Nanum", fname=str(NANUM))
        pdf.set_font("Nanum", size=12)
        pdf.set_encryption(owner_password="owner-secret", user_password=user_password)
        pdf.add_page()
        pdf.cell(0, 10, "대외비 문서입니다.")
        pdf.output(str(tmp_path / name))
        return tmp_path / name

    assert reason_of(write("locked.pdf", "1234")) == "암호화된 PDF"
    # restrictions set by an owner password alone do not stop reading
    assert all_text(load_file(write("restricted.pdf", None), MB)) == "대외비 문서입니다."


def test_pdf_without_text_is_reported_as_scan(tmp_path):
    from fpdf import FPDF
    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 50, style="F")             # a page with only a drawing, like a scanned image
    p = tmp_path / "scan.pdf"
    pdf.output(str(p))
    assert reason_of(p) == "텍스트가 없음(스캔 PDF?)"


# ---------------------------------------------------------------------------------------------------------------------
# DOCX (python-docx)

def test_docx_headings_paragraphs_and_table(tmp_path):
    import docx
    d = docx.Document()
    d.core_properties.title = "디지털정책관 업무보고"
    d.add_heading("1. 추진 배경", level=1)
    d.add_paragraph("서울시는 시민 체감형 인공지능 서비스를 확대하고 있다.")
    d.add_heading("2. 사업 현황", level=1)
    table = d.add_table(rows=3, cols=3)
    for r, row in enumerate([["구분", "2023년", "2024년"], ["예산", "1,234억원", "1,500억원"], ["사업 수", "12건", "15건"]]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    merged = d.add_table(rows=2, cols=3)
    merged.cell(0, 0).merge(merged.cell(0, 2)).text = "합계"
    for c, value in enumerate(["가", "나", "다"]):
        merged.cell(1, c).text = value
    d.add_paragraph("사업은 자치구와 함께 추진한다.")
    p = tmp_path / "report.docx"
    d.save(str(p))

    doc = load_file(p, MB)
    assert doc.format == "docx" and doc.title == "디지털정책관 업무보고"
    assert [s.heading for s in doc.sections] == ["1. 추진 배경", "2. 사업 현황"]
    lines = doc.sections[1].text.splitlines()
    assert "구분 | 2023년 | 2024년" in lines and "예산 | 1,234억원 | 1,500억원" in lines
    assert "합계" in lines                            # a merged cell appears once, not three times
    assert "사업은 자치구와 함께 추진한다." in lines


# ---------------------------------------------------------------------------------------------------------------------
# HTML

def test_html_table_headings_and_scripts(tmp_path):
    p = tmp_path / "notice.html"
    p.write_text("""<!doctype html><html><head><meta charset="utf-8"><title>스마트도시 공지</title>
<style>p { color: red }</style><script>var secret = "스크립트";</script></head><body>
<h1>회의 개요</h1><p>일시: 2024. 3. 26.(화) 14:00<br>장소: 서울시청 6층</p>
<!-- 주석 -->
<table><caption>예산 현황</caption><tr><th>구분</th><th>금액</th></tr>
<tr><td>인공지능</td><td>1,234억원</td></tr></table>
<h2>논의 내용</h2><p>위원들은   자율주행
시범사업을 논의하였다.</p></body></html>""", encoding="utf-8")
    doc = load_file(p, MB)
    assert doc.title == "스마트도시 공지" and doc.format == "html"
    text = all_text(doc)
    assert "스크립트" not in text and "color" not in text and "주석" not in text
    assert [s.heading for s in doc.sections] == ["회의 개요", "논의 내용"]
    lines = doc.sections[0].text.splitlines()
    assert "구분 | 금액" in lines and "인공지능 | 1,234억원" in lines
    assert "일시: 2024. 3. 26.(화) 14:00" in lines
    assert "위원들은 자율주행 시범사업을 논의하였다." in doc.sections[1].text


def test_html_in_cp949_with_meta_charset(tmp_path):
    p = tmp_path / "old.htm"
    p.write_bytes('<html><head><meta charset="euc-kr"><title>공지</title></head><body><p>민원 안내입니다.</p>'
                  '</body></html>'.encode("cp949"))
    doc = load_file(p, MB)
    assert doc.title == "공지" and "민원 안내입니다." in all_text(doc)


# ---------------------------------------------------------------------------------------------------------------------
# HWPX and HWP written by python-hwpx, parsed by our reader

@pytest.mark.parametrize("suffix", [".hwpx", ".hwp"])
def test_hwpx_and_hwp_written_by_python_hwpx(tmp_path, suffix):
    import warnings

    from hwpx import HwpxDocument
    d = HwpxDocument.new()
    d.package.set_document_metadata(title="서울시 인공지능 행동계획")
    d.paragraphs[0].text = "서울특별시 인공지능 행동계획"
    d.add_heading("1. 추진 배경", level=1)
    d.add_paragraph("서울시는 2024년부터 인공지능 기본계획을 시행하고 있다.", inherit_style=False)
    cited = d.add_paragraph("생성형 AI 도입 현황을 점검하였다.", inherit_style=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        d.add_footnote("2024년 3월 기준 자료임.", paragraph=cited)
    table = d.add_table(3, 3)
    for r, row in enumerate([["구분", "2023년", "2024년"], ["예산", "1,234억원", "1,500억원"], ["사업 수", "12건", "15건"]]):
        for c, value in enumerate(row):
            table.set_cell_text(r, c, value)
    d.add_heading("2. 향후 계획", level=1)
    d.add_paragraph("2025년에는 행정 전 분야로 확대한다.", inherit_style=False)
    p = tmp_path / f"plan{suffix}"
    d.save_to_path(str(p))                            # .hwp: python-hwpx writes an HWP 5.0 compound file

    doc = load_file(p, MB)
    assert doc.format == suffix[1:] and doc.title == "서울시 인공지능 행동계획"
    assert [s.heading for s in doc.sections] == ["", "1. 추진 배경", "2. 향후 계획"]
    lines = doc.sections[1].text.splitlines()
    assert "서울시는 2024년부터 인공지능 기본계획을 시행하고 있다." in lines
    # the footnote follows the paragraph that cites it; the table rows follow, one per line
    i = lines.index("생성형 AI 도입 현황을 점검하였다.")
    assert lines[i + 2] == "1) 2024년 3월 기준 자료임."
    assert lines[-3:] == ["구분 | 2023년 | 2024년", "예산 | 1,234억원 | 1,500억원", "사업 수 | 12건 | 15건"]


def test_hwpx_corrupt(tmp_path):
    p = tmp_path / "broken.hwpx"
    p.write_bytes(b"PK\x03\x04" + random.Random(2).randbytes(3000))
    assert reason_of(p) == "손상된 HWPX"


# ---------------------------------------------------------------------------------------------------------------------
# HWP 5.0 fixtures

@needs_hwp
def test_hwp_korean_body_text_and_table_rows():
    doc = load_file(HWP_DIR / "sample-5017.hwp", MB)
    assert doc.format == "hwp" and doc.title == "제목입니다."
    lines = all_text(doc).splitlines()
    assert lines[0] == "한글 2005 예제 파일입니다."
    assert ("본문 내용입니다. 본 문서는 한글 워드 프로세서의 파일 저장 형식 중, 한글 2002 이후 제품에서 사용되는 "
            "한글 문서 파일 형식 5.0 및 한글 97 문서 파일 형식, HWPML에 관하여 설명한다.") in lines
    i = lines.index("A0 | B0")
    assert lines[i + 1] == "A1 | B10 B11"           # a two-paragraph cell stays on its row
    assert "표 3 2x2짜리표" in lines                  # caption with its number
    assert not any(ord(c) < 32 or 0xE000 <= ord(c) <= 0xF8FF for c in all_text(doc).replace("\n", ""))


@needs_hwp
def test_hwp_footnotes_and_endnotes_follow_their_paragraph():
    lines = [x for x in all_text(load_file(HWP_DIR / "footnote-endnote.hwp", MB)).splitlines() if x]
    assert lines == ["각주참조", "1) 각주입니다.", "2) 각주 두 번째입니다.", "미주참조", "1) 미주입니다.", "2) 미주 두 번째입니다."]


@needs_hwp
def test_hwp_tables_and_layouts():
    # table.hwp holds one table whose cells are all empty: nothing to index
    assert reason_of(HWP_DIR / "table.hwp") == "텍스트가 없음"
    captions = all_text(load_file(HWP_DIR / "table-caption.hwp", MB)).splitlines()
    assert [x for x in captions if x.startswith("표 ")][:3] == ["표 1 위 캡션", "표 2 아래 캡션", "표 3 왼쪽"]
    page = all_text(load_file(HWP_DIR / "headerfooter.hwp", MB))
    assert page == "첫 페이지"                        # page headers and footers are left out
    assert all_text(load_file(HWP_DIR / "multicolumns.hwp", MB)).count("다단") > 100


@needs_hwp
def test_hwp_encrypted_and_distribution_documents_are_refused():
    assert reason_of(HWP_DIR / "password-12345.hwp") == "암호화된 HWP"
    assert reason_of(HWP_DIR / "viewtext.hwp") == "배포용 HWP (본문 암호화)"
    docs, errors = load_many([HWP_DIR / "viewtext.hwp"], MB)
    assert docs == [] and errors == [LoadError(str(HWP_DIR / "viewtext.hwp"), "배포용 HWP (본문 암호화)")]


@needs_hwp
def test_hwp_corrupt_random_and_truncated(tmp_path):
    rnd = tmp_path / "random.hwp"
    rnd.write_bytes(random.Random(3).randbytes(5000))
    assert reason_of(rnd) == "손상된 HWP"
    ole_junk = tmp_path / "ole-junk.hwp"
    ole_junk.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + random.Random(4).randbytes(5000))
    assert reason_of(ole_junk) == "손상된 HWP"
    data = (HWP_DIR / "sample-5017.hwp").read_bytes()
    for size in (512, 4096, len(data) // 2):
        cut = tmp_path / f"cut-{size}.hwp"
        cut.write_bytes(data[:size])
        assert reason_of(cut) == "손상된 HWP"


@needs_hwp
def test_hwp_fixture_parse_times(capsys):
    load_file(HWP_DIR / "sample-5017.hwp", MB)        # imports and first-call setup are not a file's cost
    rows = []
    for path in sorted(HWP_DIR.glob("*.hwp")):
        t0 = time.perf_counter()
        try:
            outcome = f"{sum(len(s.text) for s in load_file(path, MB).sections)} chars"
        except LoadFailure as e:
            outcome = e.reason
        ms = (time.perf_counter() - t0) * 1000
        rows.append((path.name, ms, outcome))
        assert ms < 2000, f"{path.name} took {ms:.0f} ms"
    with capsys.disabled():
        print("\nHWP fixture parse times:")
        for name, ms, outcome in rows:
            print(f"  {name:22s} {ms:7.1f} ms  {outcome}")


# ---------------------------------------------------------------------------------------------------------------------
# bad input of every kind

def test_empty_binary_unsupported_missing(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    assert reason_of(empty) == "빈 파일"
    blank = tmp_path / "blank.md"
    blank.write_text(" \n\u200b\n\t\n", encoding="utf-8")
    assert reason_of(blank) == "텍스트가 없음"
    junk = tmp_path / "junk.txt"
    junk.write_bytes(random.Random(5).randbytes(20000))
    assert reason_of(junk) == "바이너리 파일로 보임"
    elf = tmp_path / "program.txt"
    elf.write_bytes(b"\x7fELF\x02\x01\x01" + bytes(range(256)) * 4)
    assert reason_of(elf) == "바이너리 파일로 보임"
    sheet = tmp_path / "budget.xlsx"
    sheet.write_bytes(b"PK\x03\x04")
    assert reason_of(sheet) == "지원하지 않는 형식 (.xlsx)"
    assert reason_of(tmp_path / "missing.txt") == "파일을 찾을 수 없음"
    assert ".hwp" in SUPPORTED_SUFFIXES and ".xlsx" not in SUPPORTED_SUFFIXES


def test_oversized_file_is_refused_before_reading(tmp_path):
    small = tmp_path / "notes.txt"
    small.write_text("가" * 2000, encoding="utf-8")
    assert reason_of(small, max_bytes=1000) == "파일이 너무 큼 (5.9 KB > 한도 1.0 KB)"
    huge = tmp_path / "huge.pdf"
    with open(huge, "wb") as f:                       # 3 GB, sparse: costs nothing unless someone reads it
        f.truncate(3 * 2**30)
    t0 = time.perf_counter()
    assert reason_of(huge, max_bytes=50 * MB) == "파일이 너무 큼 (3072.0 MB > 한도 50.0 MB)"
    assert time.perf_counter() - t0 < 0.5


def test_reasons_never_quote_file_contents(tmp_path):
    marker = "주민번호900101-1234567"
    files = {"a.pdf": b"%PDF-1.7\n" + marker.encode() * 50, "b.hwp": marker.encode("utf-16-le") * 50,
             "c.docx": b"PK\x03\x04" + marker.encode() * 50, "d.txt": b"\x00" + marker.encode() * 50,
             "e.hwpx": marker.encode() * 50}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    docs, errors = load_many(sorted(tmp_path.iterdir()), MB)
    assert docs == []
    assert [e.reason for e in errors] == ["손상된 PDF", "손상된 HWP", "손상된 DOCX", "바이너리 파일로 보임", "손상된 HWPX"]
    for e in errors:
        assert "900101" not in e.reason and "주민번호" not in e.reason


def test_load_many_keeps_going(tmp_path):
    good = tmp_path / "good.txt"
    good.write_text("서울시 예산은 1,234억원이다.", encoding="utf-8")
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"%PDF-1.4 broken")
    empty = tmp_path / "empty.html"
    empty.touch()
    docs, errors = load_many([str(bad), good, str(empty), tmp_path / "x.exe"], MB)
    assert [d.source for d in docs] == [str(good)]
    assert errors == [LoadError(str(bad), "손상된 PDF"), LoadError(str(empty), "빈 파일"),
                      LoadError(str(tmp_path / "x.exe"), "지원하지 않는 형식 (.exe)")]


# ---------------------------------------------------------------------------------------------------------------------
# normalization

def test_normalize_joins_lines_broken_mid_sentence():
    text = "서울시는 인공지능 기본 조례에 따라 매년 시행계획을\n수립하고 이를 의회에 보고하여야 한다.\n다음 문장이다."
    assert normalize_text(text) == ("서울시는 인공지능 기본 조례에 따라 매년 시행계획을 수립하고 이를 의회에 보고하여야 한다."
                                    "\n다음 문장이다.")
    # a sentence-final ending (다/요/음/함/됨) or punctuation ends the line for good
    assert normalize_text("시범사업을 확대할 예정임\n자치구와 협력함\n세부 계획은 별도 수립") == \
        "시범사업을 확대할 예정임\n자치구와 협력함\n세부 계획은 별도 수립"


def test_normalize_keeps_headings_list_items_and_table_rows_apart():
    text = ("1. 추진 배경\n서울시는 시민 체감형 서비스를 확대한다.\n"
            "□ 추진 현황\n○ 서울시는 2024년 스마트도시 계획을 수립하였으며 그 결과를\n시의회에 보고하였음\n"
            "- 세부 내용은 별첨 참조\n가. 의안번호 : 제1544호\n나. 회부일자 : 2024. 3. 26.\n"
            "구분 | 2023년 | 2024년 합계 기준으로 작성한 표의 머리\n예산 | 10억원 | 20억원\n"
            "① 첫째 항목으로 설명하는 내용이 길게 이어지고 있는\n② 둘째 항목")
    assert normalize_text(text).splitlines() == [
        "1. 추진 배경", "서울시는 시민 체감형 서비스를 확대한다.", "□ 추진 현황",
        "○ 서울시는 2024년 스마트도시 계획을 수립하였으며 그 결과를 시의회에 보고하였음",
        "- 세부 내용은 별첨 참조", "가. 의안번호 : 제1544호", "나. 회부일자 : 2024. 3. 26.",
        "구분 | 2023년 | 2024년 합계 기준으로 작성한 표의 머리", "예산 | 10억원 | 20억원",
        "① 첫째 항목으로 설명하는 내용이 길게 이어지고 있는", "② 둘째 항목"]


def test_normalize_short_lines_and_blank_lines_are_kept():
    assert normalize_text("AI가 그리는 미래,\n서울이 만드는 현실") == "AI가 그리는 미래,\n서울이 만드는 현실"
    assert normalize_text("첫 문단의 내용이 여기서 끝나지 않은 채로\n\n\n\n둘째 문단") == \
        "첫 문단의 내용이 여기서 끝나지 않은 채로\n\n둘째 문단"


def test_normalize_double_spaced_export_is_rejoined():
    lines = ["○ 최근 글로벌 AI 시장의 급격한 변화가", "예고되고 도시 간 경쟁이 치열해지고 있음. 미국의", "독주로 여겨지던 시장에",
             "새로운 모델이 등장", "2. 제안이유", "◦ 인공지능 기술은 서울시를 비롯한 공공 분야의", "핵심기술로 활용되고 있음."]
    assert normalize_text("\n\n".join(lines)).splitlines() == [
        "○ 최근 글로벌 AI 시장의 급격한 변화가 예고되고 도시 간 경쟁이 치열해지고 있음. 미국의 독주로 여겨지던 시장에 새로운 모델이 등장",
        "2. 제안이유", "◦ 인공지능 기술은 서울시를 비롯한 공공 분야의 핵심기술로 활용되고 있음."]


@pytest.mark.parametrize("raw, expected", [
    ("서 울 특 별 시 의회", "서울특별시 의회"),
    ("검   토   보   고", "검토보고"),
    ("나. 발 의 자 : 김동욱 의원", "나. 발의자 : 김동욱 의원"),
    ("서 울 특 별 시  의 회", "서울특별시 의회"),         # a wider gap is the word boundary
    ("및 그 외 사항", "및 그 외 사항"),                 # ordinary one-syllable words stay apart
    ("그 중 두 곳", "그 중 두 곳"),
    ("일 시 : 2024. 3. 26.", "일 시 : 2024. 3. 26."),   # two syllables are ambiguous: left alone
    ("서울 특별 시", "서울 특별 시"),
])
def test_normalize_spaced_syllables(raw, expected):
    assert normalize_text(raw) == expected


@pytest.mark.parametrize("keep", [
    "2024. 3. 26.(화) 14:00~16:00", "의안번호 제1544호", "면적 605.23km²", "총 1,234억원", "① 제1항", "Ⅲ. 결론",
    "전화 02-2133-1234", "3.5%p 증가", "ＡＩ 전각 문자",
])
def test_normalize_keeps_numbers_dates_units(keep):
    assert normalize_text(keep) == keep


def test_normalize_removes_invisible_characters_and_collapses_spaces():
    raw = "\ufeff인공\u200b지능\u00ad  정책\u00a0및\u3000예산\t현황:\x07\r\n다음 줄\u200d\ufffd"
    assert normalize_text(raw) == "인공지능 정책 및 예산 현황:\n다음 줄"
    assert normalize_text("한\u1100\u1161") == "한가"          # NFC composes conjoining jamo


def test_normalize_removes_every_control_and_format_character():
    import unicodedata
    invisible = "".join(chr(c) for c in range(0x110000)
                        if unicodedata.category(chr(c)) in ("Cc", "Cf") and chr(c) not in "\n\r")
    assert normalize_text("가" + invisible + "나") in ("가나", "가 나")


CORPUS = SHARED / "corpus" / "seoul-ai-policy"


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"seed corpus not found at {CORPUS}")
def test_seed_corpus_text_files_load():
    paths = sorted(CORPUS.glob("*.txt"))
    docs, errors = load_many(paths, 10 * MB)
    assert errors == [] and len(docs) == len(paths) == 5
    for doc in docs:
        assert doc.title and doc.title != Path(doc.source).stem
        assert all("\ufffd" not in s.text and "\n\n\n" not in s.text for s in doc.sections)
    bill = next(d for d in docs if "제1544호" in all_text(d))
    assert "발의자" in all_text(bill)                        # "발 의 자" in the export, letter-spaced
