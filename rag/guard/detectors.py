"""Detectors of personal data and confidentiality markings on the normalized view: patterns, checksums, context
words; each returns (type, start, end, severity) candidates in normalized offsets."""
from __future__ import annotations

import re
from datetime import date

from rag.guard import markings, sensitive

# ---------------------------------------------------------------------------------------------
# checksums and validity
# ---------------------------------------------------------------------------------------------
def _digits(s: str) -> str:
    return "".join(c for c in s if c.isdigit())


def rrn_birth_valid(d13: str) -> bool:
    """YYMMDD is a real date for the century the 7th digit implies (and not in the future)."""
    g = d13[6]
    century = {"1": 1900, "2": 1900, "5": 1900, "6": 1900, "3": 2000, "4": 2000, "7": 2000, "8": 2000,
               "9": 1800, "0": 1800}[g]
    try:
        born = date(century + int(d13[:2]), int(d13[2:4]), int(d13[4:6]))
    except ValueError:
        return False
    return born <= date.today()


def rrn_checksum_ok(d13: str) -> bool:
    """The mod-11 check digit of RRNs issued before October 2020 (evidence, not a requirement)."""
    s = sum(int(a) * w for a, w in zip(d13[:12], (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)))
    return (11 - s % 11) % 10 == int(d13[12])


def brn_checksum_ok(d10: str) -> bool:
    """Official check digit of a 사업자등록번호."""
    s = sum(int(a) * w for a, w in zip(d10[:9], (1, 3, 7, 1, 3, 7, 1, 3, 5)))
    s += int(d10[8]) * 5 // 10
    return (10 - s % 10) % 10 == int(d10[9])


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


# ---------------------------------------------------------------------------------------------
# patterns
# ---------------------------------------------------------------------------------------------
_NB = r"(?<![0-9A-Za-z])(?<![0-9][-.])"          # left edge of a number
_NE = r"(?![0-9])(?![-.][0-9])"                  # right edge of a number
_SEP = r"(?:\s?[-.]\s?|\s)?"                     # optional group separator


def _before(t: str, s: int, n: int) -> str:
    return t[max(0, s - n):s]


def _after(t: str, e: int, n: int) -> str:
    return t[e:e + n]


def _ctx(t: str, s: int, e: int, pat: re.Pattern, before: int = 20, after: int = 10) -> bool:
    return bool(pat.search(_before(t, s, before)) or pat.search(_after(t, e, after)))


_Cand = tuple[str, int, int, str]      # (type, start, end, severity) in normalized-view offsets

# --- RRN / FRN --------------------------------------------------------------------------------
_RRN = re.compile(_NB + r"(\d{6})(\s*[-.]\s*|\s)?([0-9]\d{6})" + _NE)
_RRN_CTX = re.compile(r"주민|등록번호|외국인|생년월일|RRN|FRN|신분|resident", re.I)
_RRN_NEG = re.compile(r"주문|접수|송장|운송장|문서번호|의안|관리번호|과제|사업번호|사건|일련번호|등기|고객번호|"
                      r"회원번호|상품|바코드|EAN|법인|계좌|카드|승인번호|송금|입금|통장|은행", re.I)
# 앞자리 880512 뒷자리 1056782: the two halves apart, only with RRN context
_RRN_SPLIT = re.compile(_NB + r"(\d{6})" + _NE + r"[^\d\n]{1,14}?" + _NB + r"(\d{7})" + _NE)


def _find_rrn(t: str) -> list[_Cand]:
    out = []
    for m in _RRN.finditer(t):
        d = m.group(1) + m.group(3)
        if not rrn_birth_valid(d):
            continue
        typ = "FRN" if d[6] in "5678" else "RRN"
        before = _before(t, m.start(), 16)
        if _RRN_NEG.search(before) and not _RRN_CTX.search(before.replace("등록번호", "")):
            sev = "low"
        elif _ctx(t, m.start(), m.end(), _RRN_CTX, 24, 12) or rrn_checksum_ok(d):
            sev = "high"
        else:
            sev = "medium"
        out.append((typ, m.start(), m.end(), sev))
    for m in _RRN_SPLIT.finditer(t):
        d = m.group(1) + m.group(2)
        if rrn_birth_valid(d) and _RRN_CTX.search(_before(t, m.start(), 30) + m.group()):
            typ = "FRN" if d[6] in "5678" else "RRN"
            out.append((typ, m.start(1), m.end(1), "high"))
            out.append((typ, m.start(2), m.end(2), "high"))
    return out


# --- passport -----------------------------------------------------------------------------------
_PASSPORT = re.compile(r"(?<![0-9A-Za-z])([A-Za-z])(\d{8}|\d{3}[A-Za-z]\d{4})(?![0-9A-Za-z])")
_PASSPORT_CTX = re.compile(r"여권|passport|출국|입국|비자|visa|출입국|항공권", re.I)


# foreign passports: one or two letters + 7 digits (G1234567, AB1234567) or 9 digits (987654321), only right after a
# passport word ("여권번호:", "Passport No.") — the same shapes are order and product numbers elsewhere
_PASSPORT_FOREIGN = re.compile(r"(?<![0-9A-Za-z])(?:[A-Za-z]{1,2}\d{7}|\d{9})(?![0-9A-Za-z])")
_PASSPORT_LEAD = re.compile(r"(?:여권|passport)(?:\s?\(passport\))?\s?(?:번호|사본\s?번호|no\.?|number|#)?\s?(?:는|은|:|：)?"
                            r"\s?(?:no\.?)?\s?[:：]?\s?$", re.I)


def _find_passport(t: str) -> list[_Cand]:
    out = []
    for m in _PASSPORT_FOREIGN.finditer(t):
        if _PASSPORT_LEAD.search(_before(t, m.start(), 30)):
            out.append(("PASSPORT", m.start(), m.end(), "high"))
    for m in _PASSPORT.finditer(t):
        if _ctx(t, m.start(), m.end(), _PASSPORT_CTX, 24, 12):
            sev = "high"
        elif m.group(1) == "M":
            sev = "medium"          # M + 8 digits or M123A4567: the ordinary Korean passport, even without context
        else:
            sev = "low"             # other letters without context: product codes, versions (V20240326)
        out.append(("PASSPORT", m.start(), m.end(), sev))
    return out


# --- driver's license ---------------------------------------------------------------------------
_REGIONS = r"서울|부산|경기남부|경기북부|경기|강원|충북|충남|전북|전남|경북|경남|제주|대구|인천|광주|대전|울산|세종"
_DL = re.compile(_NB + r"(?:(" + _REGIONS + r")\s?)?(?:(\d{2})\s?-\s?)?(\d{2})\s?-\s?(\d{6})\s?-\s?(\d{2})" + _NE)
_DL_PLAIN = re.compile(_NB + r"(\d{12})" + _NE)
_DL_CTX = re.compile(r"면허")


def _find_license(t: str) -> list[_Cand]:
    out = []
    for m in _DL.finditer(t):
        region, code = m.group(1), m.group(2)
        if not region and not code:
            continue
        if code and not (11 <= int(code) <= 28) and not _DL_CTX.search(_before(t, m.start(), 20)):
            sev = "low"
        else:
            sev = "high"
        start = m.start(1) if region else m.start(2)
        out.append(("DRIVER_LICENSE", start, m.end(), sev))
    for m in _DL_PLAIN.finditer(t):
        if _ctx(t, m.start(), m.end(), _DL_CTX, 20, 10) and 11 <= int(m.group(1)[:2]) <= 28:
            out.append(("DRIVER_LICENSE", m.start(), m.end(), "high"))
    return out


# --- business registration number ---------------------------------------------------------------
_BRN = re.compile(_NB + r"(\d{3})\s?-\s?(\d{2})\s?-\s?(\d{5})" + _NE)
_BRN_PLAIN = re.compile(_NB + r"(\d{10})" + _NE)
_BRN_CTX = re.compile(r"사업자|거래처|세금계산서|BRN|business|등록번호|법인|상호|업체|대표자", re.I)
_BRN_NEG = re.compile(r"과제|접수|문서|의안|사건|관리번호|일련")


def _find_brn(t: str) -> list[_Cand]:
    out = []
    for m in _BRN.finditer(t):
        d = "".join(m.groups())
        ok = brn_checksum_ok(d)
        ctx = _ctx(t, m.start(), m.end(), _BRN_CTX, 24, 12)
        neg = _BRN_NEG.search(_before(t, m.start(), 12))
        if ok and not neg:
            sev = "high"
        elif ctx and not neg:
            sev = "medium"
        else:
            sev = "low"
        out.append(("BRN", m.start(), m.end(), sev))
    for m in _BRN_PLAIN.finditer(t):
        if brn_checksum_ok(m.group(1)) and _ctx(t, m.start(), m.end(), _BRN_CTX, 24, 12):
            out.append(("BRN", m.start(), m.end(), "high"))
    return out


# --- phone --------------------------------------------------------------------------------------
_INTL = r"\+\s?82[\s-]?(?:\(0\))?"
_MOBILE = re.compile(_NB + r"(?:" + _INTL + r"|0)1[016789]\)?" + _SEP + r"\d{3,4}" + _SEP + r"\d{4}" + _NE)
_AREA = r"(?:2|3[1-3]|4[1-4]|5[1-5]|6[1-4]|70|80|50\d)"
_LANDLINE = re.compile(r"(?<![0-9A-Za-z])(?<![0-9][-.])(?:" + _INTL + _AREA + r"|0" + _AREA + r"|\(0" + _AREA + r"\))"
                       + _SEP + r"\d{3,4}" + _SEP + r"\d{4}" + _NE)
_REPRESENTATIVE = re.compile(_NB + r"1[568]\d{2}-\d{4}" + _NE)
_OFFICE_CTX = re.compile(
    r"문의|담당|대표\s?(?:전화|번호)|팩스|FAX|Tel|TEL|☎|콜센터|상담|민원실|교환|직통|내선|"
    r"[가-힣]{2,}(?:과|팀|국|실|센터|본부|사무소|사업소|청|처|부|위원회|재단|공단|공사|연구원|관|시청|구청|주민센터)"
    r"(?=[\s(:：,)]|$)", re.I)
_OFFICE_CTX_EN = re.compile(r"\b(?:division|department|dept|office|government|ministry|center|centre|team|bureau|"
                            r"tel|fax|contact\s+us|agency|city\s+hall)\b", re.I)
_PERSONAL_PHONE_CTX = re.compile(r"휴대|핸드폰|집|자택|개인|본인|제 번호|내 번호|어머니|아버지|가족")


def _find_phone(t: str) -> list[_Cand]:
    out = []
    for m in _MOBILE.finditer(t):
        out.append(("PHONE", m.start(), m.end(), "high"))
    for m in _LANDLINE.finditer(t):
        before = _before(t, m.start(), 30)
        office = _OFFICE_CTX.search(before) or _OFFICE_CTX.search(_after(t, m.end(), 40)) \
            or _OFFICE_CTX_EN.search(before + " " + _after(t, m.end(), 60))
        if office and not _PERSONAL_PHONE_CTX.search(before):
            sev = "low"
        else:
            sev = "medium"
        out.append(("PHONE", m.start(), m.end(), sev))
    for m in _REPRESENTATIVE.finditer(t):
        out.append(("PHONE", m.start(), m.end(), "low"))
    return out


# --- e-mail -------------------------------------------------------------------------------------
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]*\s?@\s?[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
                    r"(?![A-Za-z0-9])")
_GOV_MAIL = re.compile(r"(?:\.go\.kr|@korea\.kr|\.mil\.kr)$", re.I)


def _find_email(t: str) -> list[_Cand]:
    return [("EMAIL", m.start(), m.end(), "low" if _GOV_MAIL.search(m.group()) else "medium")
            for m in _EMAIL.finditer(t)]


# --- bank account ------------------------------------------------------------------------------
_ACCOUNT = re.compile(_NB + r"\d{2,6}(?:\s?-\s?\d{2,7}){1,3}" + _NE + r"|" + _NB + r"\d{2,6}(?:\.\d{2,7}){1,3}" + _NE)
_ACCOUNT_PLAIN = re.compile(_NB + r"\d{10,14}" + _NE)
# banking words; bank brands only in forms that are not ordinary words (하나, 국민, 기업 alone are)
_ACCOUNT_CTX = re.compile(r"계좌|통장|은행|입금|송금|이체|예금|환불|뱅크|\bbank|account|농협|수협|신협|새마을금고|"
                          r"(?<![A-Za-z])(?:KB|IBK|NH|SC)(?![A-Za-z])|신한|씨티|저축", re.I)


def _find_account(t: str) -> list[_Cand]:
    out = []
    for m in _ACCOUNT.finditer(t):
        n = len(_digits(m.group()))
        if not 10 <= n <= 14:
            continue
        sev = "high" if _ctx(t, m.start(), m.end(), _ACCOUNT_CTX, 20, 12) else "low"
        out.append(("ACCOUNT", m.start(), m.end(), sev))
    for m in _ACCOUNT_PLAIN.finditer(t):
        if _ctx(t, m.start(), m.end(), _ACCOUNT_CTX, 20, 12):
            out.append(("ACCOUNT", m.start(), m.end(), "high"))
    return out


# --- card ---------------------------------------------------------------------------------------
_CARD = re.compile(_NB + r"(?:\d{4}([ -])\d{4}\1\d{4}\1\d{4}(?:\1\d{1,3})?|\d{4}([ -])\d{6}\2\d{4,5}|\d{13,19})" + _NE)
_CARD_CTX = re.compile(r"카드|card|결제|승인|신용|체크|할부|visa|master|amex|jcb|유니온", re.I)


def _find_card(t: str) -> list[_Cand]:
    out = []
    for m in _CARD.finditer(t):
        d = _digits(m.group())
        grouped = not m.group().isdigit()
        ctx = _ctx(t, m.start(), m.end(), _CARD_CTX, 20, 12)
        if luhn_ok(d) and (grouped or ctx):
            sev = "high"
        elif luhn_ok(d) and d[0] in "34569" and len(d) in (15, 16):
            sev = "medium"          # bare 15/16 digits with a card-like first digit (Luhn passes 1 in 10 at random)
        elif ctx and grouped:
            sev = "low"
        else:
            continue
        out.append(("CARD", m.start(), m.end(), sev))
    return out


# --- address ------------------------------------------------------------------------------------
_PROV = (r"(?:서울특별시|서울시|서울|부산광역시|부산시|부산|대구광역시|대구시|대구|인천광역시|인천시|인천|광주광역시|"
         r"광주시|광주|대전광역시|대전시|대전|울산광역시|울산시|울산|세종특별자치시|세종시|세종|경기도|경기|"
         r"강원특별자치도|강원도|강원|충청북도|충북|충청남도|충남|전북특별자치도|전라북도|전북|전라남도|전남|"
         r"경상북도|경북|경상남도|경남|제주특별자치도|제주도|제주)")
# 성남시, 해운대구, 중구; not the everyday words 연구, 요구, 청구, 필요시, 신청시 ...
_CITY = (r"(?:(?!(?:필요|발생|위반|신청|도착|해당|적용|제출|변경|요청|선정|확인|계약|사용|접수|이용|평가|실시|조사|개최|"
         r"준비|결정|등록|취소|지정|승인|출생|사망|비상|유사|긴급|최초|운영|시행)시)[가-힣]{2,4}(?:시|군)|"
         r"(?!(?:연구|요구|청구|추구|도구|가구|지구|전구|입구|출구|창구|기구|용구|탐구|강구|촉구|항구|친구|욕구|불구|영구|"
         r"수구|복구|소구|구구)(?![가-힣]))[가-힣]{1,4}구)")
_ADMIN = r"(?:" + _PROV + r"(?:\s" + _CITY + r"){0,2}|" + _CITY + r"(?:\s" + _CITY + r")?)"
_ROAD = r"[가-힣]{1,8}(?:\d{1,3}번?)?(?:대로|로|길)(?:\s?\d{1,3}번?(?:길|가))?"
_NUM = r"(?:산\s?)?\d{1,4}(?:-\d{1,4})?(?:\s?번지)?"
_COUNTERS = (r"(?!\d|[.,]\d|\s?(?:개|명|건|회|년|월|일|차|시간|분|원|억|만|천|조|세|%|km|곳|위|등|호선|번째|배|가구|"
             r"대|권|쪽|면|장|점|종|번\b|퍼센트|미터|m\b|㎡))")
_UNIT = r"(?:,?\s?(?:[가-힣A-Za-z0-9]{1,15}\s?)?(?:\d{1,4}동\s?)?\d{1,5}호|\s?\d{1,3}층)?"
_ROAD_ADDR = re.compile(r"(?<![가-힣])" + _ADMIN + r"\s" + r"(" + _ROAD + r")\s?" + _NUM + _COUNTERS + _UNIT)
_LOT_ADDR = re.compile(r"(?<![가-힣])" + _ADMIN + r"\s(?:[가-힣]{1,5}(?:읍|면)\s)?[가-힣]{1,5}\d?(?:동|리|가)\s?"
                       + _NUM + _COUNTERS + _UNIT)
_APT = re.compile(r"[가-힣A-Za-z0-9]{0,15}(?:아파트|빌라|맨션|오피스텔|연립|주공|APT|하이츠|빌리지)\s?\d{1,4}\s?동\s?\d{1,5}\s?호")
_ADDR_CTX = re.compile(r"주소|거주|살고|(?<![가-힣])(?:사는|집)|자택|이사(?:했|를|한|갈|가)|배송|우편|택배|실거주|전입|거소")
_OFFICE_ADDR_CTX = re.compile(r"청사|시청|구청|도청|군청|본관|별관|사옥|센터|기관|위치|소재|대학교|학교|병원|도서관|공원|"
                              r"박물관|미술관|경기장|터미널|[가-힣]역(?![가-힣])|\((?:시|도|구|군)청\)|\(도청\)")
_NOT_ROAD = re.compile(r"(?:으로|별도로|새로|주로|스스로|서로|바로|실제로|경로|진로|통로|과로|회로|항로|수로|"
                       r"활주로|차로|그대로|이대로|제대로|마음대로|멋대로|따로|홀로|저절로)$")


def _find_address(t: str) -> list[_Cand]:
    out = []
    for m in _ROAD_ADDR.finditer(t):
        road = m.group(1)
        if _NOT_ROAD.search(road):
            continue
        out.append(("ADDRESS", m.start(), m.end(), _addr_severity(t, m)))
    for m in _LOT_ADDR.finditer(t):
        out.append(("ADDRESS", m.start(), m.end(), _addr_severity(t, m)))
    for m in _APT.finditer(t):
        out.append(("ADDRESS", m.start(), m.end(), "high"))
    return out


def _addr_severity(t: str, m: re.Match) -> str:
    text = m.group()
    if re.search(r"\d호$|\d층$", text.rstrip()):
        return "high"
    if _ctx(t, m.start(), m.end(), _OFFICE_ADDR_CTX, 20, 14):
        return "low"
    if _ctx(t, m.start(), m.end(), _ADDR_CTX, 20, 14):
        return "high"
    return "medium"


# --- person -------------------------------------------------------------------------------------
# common Korean surnames; rare ones that are also everyday syllables (사, 시, 상, 단 ...) are left out on purpose
_SURNAMES = ("김 이 박 최 정 강 조 윤 장 임 한 오 서 신 권 황 안 송 류 유 전 홍 고 문 양 손 배 백 허 남 심 노 하 곽 성 차 주 "
             "우 구 민 진 나 지 엄 채 원 천 방 공 현 함 변 염 여 추 도 소 석 선 설 마 길 연 위 표 명 기 반 왕 금 옥 육 인 맹 "
             "제 모 탁 국 봉 태 형 탁 가 동").split()
_COMPOUND_SURNAMES = "남궁 황보 제갈 선우 독고 사공 서문 동방".split()
_SURNAME_RE = "(?:" + "|".join(_COMPOUND_SURNAMES) + "|[" + "".join(_SURNAMES) + "])"
_ROLE_MARKERS = (r"민원인|신청인|신청자|신고인|신고자|피해자|가해자|피의자|피고인|원고|피고|청구인|피청구인|성명|이름|"
                 r"환자|보호자|대상자|수급자|수급권자|예금주|계약자|가입자|피보험자|세대주|대리인|의뢰인|제보자|진정인|"
                 r"피진정인|참고인|증인|응시자|지원자|수령인|수신인|받는\s?사람|보내는\s?사람|고객|학생|아동|근로자|"
                 r"임차인|임대인|채무자|채권자|상속인|사망자|실종자|배우자|남편|아내|아들|딸|어머니|아버지|자녀|부친|모친|name")
_PARTICLE = r"(?:이|가|은|는|을|를|의|에게|께서|께|과|와|도|씨|님|이가|이는|이의|이를|이에게|한테|로부터)"
_NAME_END = r"(?![가-힣])"
_MARKER = re.compile(r"(?:" + _ROLE_MARKERS + r")(?:\s*[:：]\s*|\s+)", re.I)
_NAME_AT = re.compile(r"(" + _SURNAME_RE + r"[가-힣]{1,2})(\s?(?:씨|님|양|군))?(?=" + _PARTICLE + r"?" + _NAME_END + r")")
# 김미숙(600303-2123450), 홍길동(010-1234-5678): a name right before a bracketed RRN or mobile number
_PERSON_BEFORE_ID = re.compile(r"(?<![가-힣])(" + _SURNAME_RE + r"[가-힣]{2})\s?\(\s?(?=\d{6}\s?-?\s?\d{7}|(?:\+82|0)1[016789])")
_PERSON_HONORIFIC = re.compile(r"(?<![가-힣])(" + _SURNAME_RE + r"[가-힣]{1,2})\s?(?:씨|님)(?=" + _PARTICLE + r"?"
                               + _NAME_END + r")")
# common words that follow role markers and start with a surname syllable
_NOT_NAMES = frozenset((
    "정보 전원 명의 본인 전체 전부 모두 이름 성명 주소 정정 조회 신청 제출 확인 서류 유형 기준 자격 현황 명단 진술 방문 소득 "
    "등록 인적 지원 보호 안내 대상 구제 권리 권익 공개 정책 유의 진료 연락 동의 변경 경우 이외 이상 이하 전용 관련 편의 주장 "
    "요청 요구 민원 가족 배우자 한명 한분 각자 강제 고지 상담 안전 이의 인권 임의 조사 조치 차별 최종 최초 추가 표시 함께 홍보 "
    "공지 구분 남성 여성 남자 여자 나이 성별 우선 유족 장애 정신 주민 진정 하나 허가 허위 모집 방법 변호 설명 손해 송달 신원 "
    "심사 안정 양식 엄격 여부 연령 예외 오류 위임 의견 이력 이용 임시 장소 전달 전화 제한 조건 지위 차량 채무 추천 허락 "
    "주소지 대리인 연락처 신분증 등록증 신청서 서명 동의서 진술서 소득액 지원금 보험료 전입 관계인 명의자 본인확인 "
    "사용자 이용자 관리자 운영자 작성자 신청자 담당자 구매자 판매자 보호자 수급자 대상자 참가자 가입자 소비자 "
    "고객 선생 교수 박사 회장 원장 이사 주임 반장 사모 기사 대표 위원 의원 시장 형님 누님 손님 여러분 모두 "
    "하느 하나 정부 공무원 공공 기관 주택 거주 거주지 근무 근로 부담 부모 자녀 아동 노인 성인 학부모 학교 학생 수급 "
    "경찰 검찰 법원 국가 지자체 서울 부산 대구 인천 광주 대전 울산 세종 경기 강원 제주 "
    "전원이 모두가 명으로 국적 성적 성년 성씨 성함 성명란 이름란 성명은 이름은 성명을 이름을 정보가 정보를 "
    "고유 고유식별 민감 개인 개인정보 유의사항 인정 인지 인증 인터넷 이메일 우편 우편물 우체국 문서 문의 명세 "
    "조건부 소명 소송 소유 소유자 소재지 신분 신상 신청인 대리 대표자 대상자를 등급 등본 초본 사본 원본 원래 원칙 "
    "유무 유형별 정당 정당한 정도 정상 정해진 진단 진단서 진행 진술인 진정서 한도 한정 한부모 한국 한국어 한글 "
    "기재 기타 기간 기한 기록 기본 기초 기존 기초생활 경위 경력 경제 계좌 계약 계약서 고소 고발 고령 공동 공통 "
    "구체 구체적 구비 국민 권한 금액 금융 나머지 남편 아내 당사자 도움 명시 목적 문제 반환 방식 범위 보상 보험 "
    "복지 부분 부정 부족 비율 사유 사항 사실 상태 상황 서명란 선정 성실 소재 손실 송금 수령 수입 승인 시간 신고 "
    "안내문 양도 어려움 연락처를 예정 요건 우편번호 원인 위반 위치 유지 의사 의무 이전 이후 인원 인적사항 일부 "
    "임대 자료 장기 전입신고 전환 절차 접수 정기 제도 조정 주거 주거지 지급 지역 직업 직접 진위 채권 처리 청구 "
    "어머니 아버지 아들 남편 아내 자녀 부친 모친 배우자 민원인 신청인 신고인 피해자 청구인 보호자 예금주 수급자 "
    "체류 추가로 출석 취소 통보 통지 특정 편지 평가 피해 해당 허용 현재 혜택 확인서 환급 환불 회신 효력").split())


def _name_ok(name: str, honorific: bool) -> bool:
    """Surname + given name, not a common noun (+ particle) that happens to start with a surname."""
    if name in _NOT_NAMES or name[:2] in _NOT_NAMES or name[-1] == "들":
        return False
    if len(name) == 2:
        return honorific                 # surname + one syllable is usually a common noun (정보, 전원)
    if name[2] in "을를의에와과로도가는" and not honorific:
        return False                     # 정보를, 명의로: noun + particle
    if name[2] in "은이" and name[:2] in _NOT_NAMES:
        return False                     # 정보는, 전원이 (but 정다은, 김하은 are names)
    return True


def _find_person(t: str) -> list[_Cand]:
    out = []
    for mk in _MARKER.finditer(t):             # markers may follow each other: 신청인 성명: 조은비
        m = _NAME_AT.match(t, mk.end())
        if m and _name_ok(m.group(1), bool(m.group(2))):
            out.append(("PERSON", m.start(1), m.end(1), "medium"))
    for m in _PERSON_BEFORE_ID.finditer(t):
        if _name_ok(m.group(1), False):
            out.append(("PERSON", m.start(1), m.end(1), "medium"))
    for m in _PERSON_HONORIFIC.finditer(t):
        name = m.group(1)
        if _name_ok(name, True) and not (len(name) == 3 and name[1:] in _NOT_NAMES):
            out.append(("PERSON", m.start(1), m.end(1), "medium"))
    return out


# --- confidentiality markings -------------------------------------------------------------------
_GRADE = r"(?:I{1,3}|[123Ⅰ-Ⅲ])\s?급\s?비밀"
_KO_MARK = r"대외비|비공개|극비|기밀|내부\s?용|내부\s?(?:검토|보고|참고)\s?용|취급\s?주의|외부\s?(?:유출|반출|공개)\s?금지"
_EN_MARK = r"confidential|internal\s+use\s+only|for\s+internal\s+use|top\s+secret|secret|restricted"
_CONF_TERM = r"(?:" + _GRADE + "|" + _KO_MARK + "|" + _EN_MARK + ")"
# [대외비] 【비공개】 (내부용) <CONFIDENTIAL>; English in round brackets only in capitals ("한정적(restricted)")
_CONF_BRACKET = re.compile(r"[\[【〔<「『《〈]\s?(" + _CONF_TERM + r")\s?[\]】〕>」』》〉]|"
                           r"\(\s?(" + _GRADE + "|" + _KO_MARK + r"|CONFIDENTIAL|SECRET|TOP SECRET|INTERNAL USE ONLY)\s?\)",
                           re.I)
# "대외비 문서의 보존 기간", "비공개 자료에 대한 ...": talk about the category, not a marking
_CONF_ABOUT = (r"(?!의\s|에\s?(?:대한|관한)|\s?(?:관리|보존|보관|분류|취급|작성|파기|열람|표시)\s?(?:기준|방법|기간|절차|규정|지침|실태|점검)|"
               r"\s?표시(?:는|를|가|\s?방법)|"
               r"[가-힣]*\s?(?:여부|대상|범위|기준)|"
               # "대외비 문서를 파기할 때", "내부 검토용 자료와 공개 자료를 구분하는": handling the category
               r"(?:을|를|은|는|와|과|의)\s?(?:[가-힣]+\s)?(?:관리|보존|보관|분류|취급|작성|파기|열람|처리|구분|지정|해제|"
               r"공개|다루|다룰|다뤄|생산|등록|배포|보호))")
_CONF_LINE_START = re.compile(r"^[ \t]*(?:[-*#■□○●▶※·]\s*)?(" + _CONF_TERM + r")(?=[ \t]*(?:$|[:：\-,/|]|"
                              r"(?:문서|자료|보고서?|사항|문건|안건)" + _CONF_ABOUT + "))", re.I | re.M)
_CONF_NOUN = re.compile(r"(" + _GRADE + r"|대외비|비공개|내부\s?용|내부\s?(?:검토|보고|참고)\s?용|취급\s?주의)"
                        r"\s?(?:[가-힣]{1,4}\s)?(?:문서|자료|보고서?|문건|서류|파일|안건|계획서?)" + _CONF_ABOUT)
_CONF_PREDICATE = re.compile(r"(" + _GRADE + "|" + _KO_MARK + r")(?:입니다|임(?![가-힣])|이다|이니|이므로|이라|이며|이고|"
                             r"(?:이)?(?:야|에요|예요)(?![가-힣])|라서|에\s?해당|(?<=용)으로(?![가-힣])|"
                             r"(?:으|)로\s?(?:분류|지정|관리)(?:되|됨|된|돼|하였|했|합니다|함(?![가-힣])))")
_CONF_ALWAYS = re.compile(r"(" + _GRADE + r"|internal\s+use\s+only|for\s+internal\s+use\s+only|"
                          # 취급주의 on goods (화학물질, 택배 스티커) is not a document marking
                          r"취급\s?주의(?!\s?(?:화학|물질|물품|약품|스티커|택배|표지|라벨|상자|화물|시설))|"
                          r"외부\s?(?:유출|반출)\s?금지|is\s+(?:strictly\s+)?confidential|top\s+secret)", re.I)
_CONF_LABEL = re.compile(r"(?:보안\s?등급|비밀\s?등급|보안\s?분류|등급|분류|classification)\s*[:：]\s*(" + _CONF_TERM + ")",
                         re.I)
_CONF_STRONG = re.compile(r"급\s?비밀|top\s+secret|극비", re.I)


def _find_confidential(t: str) -> list[_Cand]:
    out = markings.find(t)                        # a restriction said of the text in hand, in any form
    for pat in (_CONF_BRACKET, _CONF_LINE_START, _CONF_NOUN, _CONF_PREDICATE, _CONF_ALWAYS, _CONF_LABEL):
        for m in pat.finditer(t):
            if pat is _CONF_BRACKET:
                s, e, term = m.start(), m.end(), m.group(1) or m.group(2)
                if re.search(r"(?<![A-Za-z])[CSO]\s?$", t[max(0, s - 2):s]):
                    continue                       # "C(기밀), S(민감), O(공개)": the names of N2SF grades explained
            else:
                s, e, term = m.start(1), m.end(1), m.group(1)
            if pat is _CONF_LINE_START and re.fullmatch(r"(?i)secret|restricted|confidential", term) \
                    and not term.isupper() and not re.match(r"[ \t]*[:：\-]", _after(t, e, 3)):
                continue                           # "Confidential computing ..." starts a sentence, not a label
            if pat is _CONF_NOUN and re.search(r"표시|지정|분류", m.group()):
                continue                           # "대외비 표시는 문서 어디에": about the marking, not one
            if _CONF_STRONG.search(term):
                clearance = re.match(r"\s?(?:취급\s?(?:인가|권)|취급인가)", _after(t, m.end(), 10))
                sev = "low" if clearance else "high"   # Ⅱ급 비밀 취급 인가: clearance wording, not a marking
            else:
                sev = "medium"
            out.append(("CONFIDENTIAL", s, e, sev))
    return out


# --- sensitive information (개인정보 보호법 제23조) ------------------------------------------------
# health, disability, criminal record, union membership, religion, political party — only where it is said of an
# identifiable person ("민원인 정해인 씨는 공황장애로 통원 치료 중"): the topic alone is policy talk ("우울증 예방 예산")
_CONDITIONS = (r"(?:공황|불안|우울|양극성|강박|섭식|수면|인격|적응|외상\s?후\s?스트레스|주의력\s?결핍)\s?장애|우울증|조현병|"
               r"조울증|치매|파킨슨병?|뇌전증|간질|자폐(?:증|\s?스펙트럼)?|알코올\s?(?:중독|의존증?)|마약\s?중독|도박\s?중독|"
               r"정신\s?질환|정신\s?분열증?|(?:[가-힣]{1,3})?암(?=\s?(?:으로|투병|진단|수술|치료|판정|환자|말기|\d기))|"
               r"백혈병|HIV|에이즈|AIDS|결핵|간염|당뇨병?|고혈압|심장병|뇌졸중|희귀\s?질환|난임|임신\s?중절")
_DISABILITY = r"(?:지체|시각|청각|언어|지적|뇌병변|정신|신장|심장|호흡기|간|안면|장루|요루|발달|자폐성)?\s?장애\s?\d\s?(?:급|등급)|" \
              r"(?:지체|시각|청각|언어|지적|뇌병변|정신|발달|자폐성)\s?장애(?:인)?"
_RECORD = r"(?:[가-힣]{1,4}\s)?전과\s?\d+\s?범|전과(?:가|자|\s?기록)|범죄\s?경력|수감\s?이력|복역|집행\s?유예|보호\s?관찰\s?중"
_UNION = r"(?:[가-힣]{0,10}(?:노동조합|노조)\s?)?조합원|노조원|노조\s?(?:위원장|지부장|간부)"
_BELIEF = r"(?:기독교|개신교|천주교|불교|원불교|이슬람교?|힌두교|유대교|여호와의\s?증인|[가-힣]{1,4}교)\s?(?:신자|신도|교인|신앙)|" \
          r"불자|무슬림|(?:[가-힣○]{1,6}당)\s?(?:당원|지지자|후원\s?당원)|당원"
_SENSITIVE = re.compile(r"(" + "|".join((_CONDITIONS, _DISABILITY, _RECORD, _UNION, _BELIEF)) + r")", re.I)
# said of someone: a diagnosis, treatment, registration, membership or belief as a predicate
_SENS_PREDICATE = re.compile(r"^[가-힣\s]{0,6}?(?:진단|치료|통원|입원|투병|수술|판정|등록|복용|앓|감염|확진|이라서|라서|이며|이고|"
                             r"입니다|이에요|예요|이어서|으로\s?(?:활동|가입|등록|일하|근무)|로\s?(?:활동|가입|등록|치료|통원|"
                             r"입원|판정)|을\s?받|를\s?받|이\s?있|가\s?있|기록|이력|(?:이|가)\s?되)")
_SENS_ANCHOR = re.compile(r"(?:민원인|신청인|신청자|신고인|신고자|피해자|가해자|피의자|청구인|진정인|당사자|본인|"
                          r"상담\s?대상자|해당\s?(?:직원|주민|학생|근로자|공무원|민원인|신청인)|그\s?(?:직원|주민|분|사람)|이\s?분|"
                          r"그분|이분|직원\s?[A-Z가-힣]{1,3}\s?씨)(?:[은는이가의도께]|께서|\s)")
_SENS_SENTENCE = re.compile(r"[^.!?\n]*(?:[.!?\n]|$)")


def _find_sensitive(t: str) -> list[_Cand]:
    """SENSITIVE at high where a sensitive phrase is said of a person the sentence names or points at (a name found
    by _find_person, a name before 씨/님, or a role such as 민원인, 신청인, 해당 직원); otherwise nothing. The lexicon
    of categories (rag/guard/sensitive.py, prompts/sensitive.toml) adds what these phrases do not list."""
    people = [(s, e) for _, s, e, _ in _find_person(t)]
    out = sensitive.find(t, people)
    for sent in _SENS_SENTENCE.finditer(t):
        if not sent.group().strip():
            continue
        s0, e0 = sent.start(), sent.end()
        anchored = any(s0 <= s < e0 for s, _ in people) or _SENS_ANCHOR.search(sent.group())
        if not anchored:
            continue
        for m in _SENSITIVE.finditer(t, s0, e0):
            if _SENS_PREDICATE.search(t[m.end():min(e0, m.end() + 20)]):
                out.append(("SENSITIVE", m.start(1), m.end(1), "high"))
    return out
