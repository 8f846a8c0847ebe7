"""ensure_onnx_int8 exports the default embedder once into <model>/onnx/, and the int8 model embeds like torch."""
from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("onnxruntime") is None or importlib.util.find_spec("onnx") is None,
    reason="onnxruntime and onnx are not installed (pip install onnxruntime==1.31.1 onnx==1.23.2)")

SENTENCES = [
    "서울시는 2025년까지 모든 구청에 인공지능 민원 상담 서비스를 도입할 계획이다.",
    "청년 월세 지원은 만 19세부터 39세까지의 무주택 청년을 대상으로 한다.",
    "이 사업의 총 예산은 120억 원이며 3년에 걸쳐 집행된다.",
    "개인정보 보호를 위해 상담 기록은 30일이 지나면 자동으로 삭제된다.",
    "디지털 포용 정책은 어르신의 스마트폰 활용 교육을 포함한다.",
    "공공 데이터 개방 확대를 위해 시는 새로운 포털을 구축했다.",
    "인공지능 윤리 위원회는 분기마다 한 번씩 회의를 연다.",
    "신청은 서울시 누리집에서 온라인으로 할 수 있다.",
    "자율주행 버스가 상암동 일대에서 시범 운행되고 있다.",
    "스마트 가로등은 보행자가 있을 때만 밝기를 높인다.",
    "query: 청년 주거 지원 대상은 누구인가요?",
    "query: 인공지능 민원 상담은 언제 도입되나요?",
    "query: 사업 예산은 얼마인가요?",
    "미세먼지 경보가 발령되면 공공기관 차량 2부제가 시행된다.",
    "소상공인을 위한 저금리 대출 상품이 새로 출시되었다.",
    "도서관 운영 시간은 평일 오전 9시부터 오후 10시까지이다.",
    "The city plans to publish the AI guideline in English as well.",
    "재난 안전 문자는 휴대전화 위치를 기준으로 발송된다.",
    "공공 와이파이는 지하철 역사와 버스 정류장에서 무료로 제공된다.",
    "기후 위기 대응을 위해 건물 에너지 효율 등급 공개가 의무화된다.",
]


@pytest.fixture(scope="module")
def model_link_dir(tmp_path_factory) -> Path:
    """The provisioned default embedder, seen through symlinks: ensure_onnx_int8 writes only the new onnx/ folder,
    so the shared model folder is never modified."""
    from rag.config import load_config
    from rag.provision.e5 import ensure_embedder
    src = ensure_embedder(load_config(env={}).models_dir)
    dst = tmp_path_factory.mktemp("model") / src.name
    dst.mkdir()
    for f in src.iterdir():
        if f.name != "onnx":
            (dst / f.name).symlink_to(f, target_is_directory=f.is_dir())
    return dst


def test_ensure_onnx_int8_exports_once_and_embeds_like_torch(model_link_dir):
    from index.embed import embed_passages, load_embedder
    from index.onnx import ONNX_INT8_NAME, ensure_onnx_int8, load_onnx_embedder

    path = ensure_onnx_int8(model_link_dir)
    assert path == model_link_dir / "onnx" / ONNX_INT8_NAME and path.is_file()
    # int8 weights: far smaller than the float32 safetensors
    assert path.stat().st_size < 0.4 * (model_link_dir / "model.safetensors").stat().st_size
    assert sorted(p.name for p in path.parent.iterdir() if not p.name.startswith(".")) == [
        "model_qint8_avx2.json", ONNX_INT8_NAME]                      # no temporary leftovers
    mtime = path.stat().st_mtime_ns
    t0 = time.perf_counter()
    assert ensure_onnx_int8(model_link_dir) == path                    # second call: nothing exported again
    assert time.perf_counter() - t0 < 2 and path.stat().st_mtime_ns == mtime

    torch_vecs = embed_passages(load_embedder(str(model_link_dir)), SENTENCES)
    int8_vecs = embed_passages(load_onnx_embedder(model_link_dir), SENTENCES)
    assert int8_vecs.shape == torch_vecs.shape == (20, 384)
    cos = (torch_vecs * int8_vecs).sum(axis=1)                         # both L2-normalized
    assert cos.min() >= 0.98, f"int8 vs torch cosine too low: {np.round(cos, 4)}"
    # and the int8 model still tells sentences apart: each is nearest to its own torch embedding
    assert (np.argmax(int8_vecs @ torch_vecs.T, axis=1) == np.arange(20)).all()


def test_load_onnx_embedder_names_the_missing_file(tmp_path):
    from index.onnx import load_onnx_embedder
    with pytest.raises(FileNotFoundError, match="ensure_onnx_int8"):
        load_onnx_embedder(tmp_path)
