"""Writes samples/04_인용과_답변형식.docx (kept in git; rerun after editing the text below)."""
from pathlib import Path

from docx import Document

doc = Document()
doc.core_properties.title = "인용과 답변 형식 안내"
doc.add_heading("인용과 답변 형식 안내", level=1)
doc.add_paragraph("도우미의 답변은 두세 문장의 짧은 글과 번호가 붙은 근거 자료로 이루어집니다.")
doc.add_paragraph("본문의 [1] 표시는 답변 아래 1번 자료에서 그 내용을 가져왔다는 뜻입니다.")
doc.add_heading("근거 자료에 표시되는 정보", level=2)
table = doc.add_table(rows=1, cols=2)
table.rows[0].cells[0].text, table.rows[0].cells[1].text = "항목", "설명"
for k, v in [("문서 이름", "근거가 된 파일의 이름"), ("쪽 또는 절", "PDF는 쪽 번호, HWP와 DOCX는 제목"),
             ("원문", "답변의 근거가 된 문장 그대로")]:
    row = table.add_row().cells
    row[0].text, row[1].text = k, v
doc.add_heading("AI 생성 표시", level=2)
doc.add_paragraph("모든 답변에는 생성형 AI가 작성했다는 표시가 붙습니다. 인공지능 기본법에 따라 이용자는 생성형 AI와 "
                  "대화하고 있다는 사실을 안내받아야 하기 때문입니다.")
out = Path(__file__).resolve().parents[1] / "samples" / "04_인용과_답변형식.docx"
doc.save(out)
print(out)
